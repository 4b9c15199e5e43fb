"""Student markdown and outputs are sanitised in both HTML views of a notebook (grading/sanitize.py).

A small notebook carrying script payloads (in a markdown cell, in a graded written answer and in a
code cell's outputs) and benign content (a table, a data: URI image, math, a PNG output) is rendered
by nbconvert's HTMLExporter set up the way `nbgrader generate_feedback` and formgrader's manual grading
view set it up, from the repository's nbgrader_config.py. The HTML is read back with a real parser:
no script, event handler, javascript: URL, iframe, object, embed or form may come from the student,
and the images, table and math must still be there.
"""
import re

import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
from traitlets.config.loader import PyFileConfigLoader

from conftest import REPO

MARK = "__xss"  # every payload would run `window.__xss=1`
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PAYLOADS = f"""<img src=x onerror="window.{MARK}=1">
<script>window.{MARK}=1</script>

[link](javascript:window.{MARK}=1) <a href=" JaVaScRiPt:window.{MARK}=1">mixed case</a>

<iframe src="javascript:window.{MARK}=1"></iframe> <iframe srcdoc="<script>window.{MARK}=1</script>"></iframe>
<form action="javascript:window.{MARK}=1"><input name="x" onfocus="window.{MARK}=1" autofocus>
<button formaction="javascript:window.{MARK}=1">go</button></form>
<object data="javascript:window.{MARK}=1"></object> <embed src="javascript:window.{MARK}=1">
<svg onload="window.{MARK}=1"><script>window.{MARK}=1</script></svg>
<details open ontoggle="window.{MARK}=1">d</details>
<a href="data:text/html,<script>window.{MARK}=1</script>">data link</a> <style>body {{ display: none }}</style>
<meta http-equiv="refresh" content="0;url=javascript:window.{MARK}=1"> <base href="javascript:window.{MARK}=1//">
<span id="task1_answer">takes the score box's id</span>

## task1_answer-comment
"""
BENIGN_MARKDOWN = f"""
| epoch | FID |
|:--|--:|
| 10 | 645.0 |

![digits](data:image/png;base64,{PNG}) and the loss $x^2$.
"""
DANGEROUS_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "form", "input", "button", "textarea",
                  "select", "style", "link", "meta", "base", "svg", "math"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "content", "background",
                  "poster"}


def payload_notebook():
    answer = {"grade_id": "task1_answer", "solution": True, "grade": True, "locked": False, "points": 4,
              "schema_version": 3, "score": 0, "comment": "Good *start*."}  # score, comment: GetGrades' additions
    outputs = [
        new_output("display_data", data={"text/plain": "<HTML>", "text/html": f"<img src=x onerror='window.{MARK}=1'>"
                   f"<script>window.{MARK}=1</script><iframe src='javascript:window.{MARK}=1'></iframe><b>bold</b>"
                   f"<table><thead><tr><th>epoch</th></tr></thead><tbody><tr><td>10</td></tr></tbody></table>"
                   f"<p><img src='data:image/png;base64,{PNG}' alt='grid'></p>"}),
        new_output("display_data", data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload='window."
                   f"{MARK}=1'><script>window.{MARK}=1</script><circle r='5'/></svg>"}),
        new_output("display_data", data={"application/javascript": f"window.{MARK}=1", "text/plain": "<JS>"}),
        new_output("display_data", data={"text/markdown": PAYLOADS}),
        # nbconvert writes an image's width/height metadata into <img> unquoted: an attribute could ride on it
        new_output("display_data", data={"image/png": PNG},
                   metadata={"image/png": {"width": f"1 onload=window.{MARK}=1"}}),
        new_output("stream", name="stdout", text=f"<script>window.{MARK}=1</script>\n"),
        new_output("error", ename="ValueError", evalue=f"<img src=x onerror=window.{MARK}=1>", traceback=["<b>tb</b>"]),
        new_output("execute_result", data={"image/png": PNG, "text/plain": "<Figure>"}, execution_count=1,
                   metadata={"image/png": {"width": 200}}),
    ]
    return new_notebook(cells=[
        new_markdown_cell(PAYLOADS + BENIGN_MARKDOWN),
        new_markdown_cell(PAYLOADS + "\nMy answer: $y^2$ grows.", metadata={"nbgrader": answer}),
        new_code_cell("show()", outputs=outputs, execution_count=1),
    ])


def course_config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def feedback_html(nb):
    """The notebook as `nbgrader generate_feedback` renders it (its exporter, built as GenerateFeedback.start does)."""
    config = course_config()
    converter = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    exporter = HTMLExporter(parent=converter, config=converter.config)
    resources = {"nbgrader": {"notebook": "gan_mnist", "score": 0, "max_score": 4, "late_penalty": 0}}
    return exporter.from_notebook_node(nb, resources=resources)[0]


def formgrade_html(nb):
    """The notebook as formgrader's manual grading view renders it (its HTMLExporter and config)."""
    config = FormgradeExtension().build_extra_config()
    config.merge(course_config())  # as FormgradeExtension.initialize: extra config, then nbgrader_config.py
    resources = {"base_url": "", "index": 0, "total": 1, "notebook_id": "gan_mnist", "assignment_id": "gan_mnist",
                 "submission_id": "1", "student": "mallory", "notebook_path": "autograded/mallory/gan_mnist.ipynb"}
    return HTMLExporter(config=config).from_notebook_node(nb, resources=resources)[0]


@pytest.fixture(scope="module", params=["feedback", "formgrade"])
def page(request):
    render = {"feedback": feedback_html, "formgrade": formgrade_html}[request.param]
    return request.param, BeautifulSoup(render(payload_notebook()), "html.parser")


def student_regions(soup):
    """What the template filled with the student's content: rendered markdown and output areas."""
    regions = soup.select(".text_cell_render, .output_subarea")
    assert len(regions) >= 10, f"expected the 2 markdown cells and 8 outputs, found {len(regions)} regions"
    return regions


def test_no_student_script_reaches_the_page(page):
    _, soup = page
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            assert MARK not in value, f"payload in <{element.name} {name}=...>"
            if name in URL_ATTRIBUTES:
                shown = f"<{element.name} {name}={value[:60]!r}>"
                assert not re.match(r"\s*(javascript|vbscript):", value, re.IGNORECASE), shown
                image = element.name == "img" and name == "src" and re.match(r"data:image/(png|jpeg|svg\+xml)[;,]", value)
                assert image or not value.strip().lower().startswith("data:"), shown
    for script in soup.find_all("script"):
        assert MARK not in script.get_text(), f"student script in the page: {script}"
    for region in student_regions(soup):
        for element in region.find_all(True):
            assert element.name not in DANGEROUS_TAGS, f"<{element.name}> from student content: {element}"
            handlers = [name for name in element.attrs if name.lower().startswith("on")]
            assert not handlers, f"event handler {handlers} in {element}"
            assert "id" not in element.attrs or element["id"].startswith("nb-"), f"unprefixed id in {element}"


def test_benign_content_stays_readable(page):
    view, soup = page
    first, answer = soup.select(".text_cell_render")[:2]
    headers = [th.get_text(strip=True) for th in first.select("table thead th")]
    assert headers == ["epoch", "FID"] and [td.get_text() for td in first.select("table td")] == ["10", "645.0"]
    assert first.find("img", src=f"data:image/png;base64,{PNG}", alt="digits"), "markdown data: URI image lost"
    assert "$x^2$" in first.get_text() and "$y^2$" in answer.get_text(), "math lost"
    assert "mixed case" in first.get_text() and "takes the score box's id" in answer.get_text()  # text kept
    pngs = soup.select(".output_png img")
    assert [img["src"] for img in pngs] == [f"data:image/png;base64,{PNG}"] * 2, "PNG outputs lost"
    assert "width" not in pngs[0].attrs and pngs[1]["width"] == "200"
    # SVG is shown as an image: a browser runs no script in one
    assert soup.select_one(".output_svg img")["src"].startswith("data:image/svg+xml;base64,")
    html_output = soup.select_one(".output_html")
    assert html_output.select_one("b").get_text() == "bold" and html_output.select_one("th").get_text() == "epoch"
    assert html_output.find("img", src=f"data:image/png;base64,{PNG}", alt="grid"), "image in an HTML output lost"
    assert "<script>" in soup.select_one(".output_stream").get_text()  # text output is shown as text
    if view == "formgrade":  # the grading UI is the template's, untouched: one score box and one comment box
        assert [e.name for e in soup.select("#task1_answer")] == ["input"]
        assert [e.name for e in soup.select("#task1_answer-comment")] == ["textarea"]
    else:
        assert soup.select_one(".panel-footer em").get_text() == "start"  # the grader's comment, as markdown
