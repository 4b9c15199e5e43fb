"""No student script runs in a grader's or a student's browser (grading/sanitize.py).

In the graded class (tests/graded_class.py), mallory submits the solution notebook with script payloads
(tests/hostile.py) in a markdown cell of her own, in her Task 1 written answer (a graded markdown cell) and in the outputs of a code cell of
her own (HTML, JavaScript, markdown, and an image whose width metadata carries an ``onload``). Every
payload would set ``window.__xss``, change the page title and POST /api/terminals (open a terminal on
the Jupyter server). Her submission is autograded and its feedback generated with the real nbgrader,
then opened in headless Chromium: formgrader's manual grading view and the feedback HTML (served by
Jupyter and as a file) must run none of them, in any frame, and still show her images, tables and
math; the grader can still score her answer. As a control, the same autograded notebook exported by
plain ``jupyter nbconvert --to html`` does run them, and the payload run in formgrader's page does
open a terminal.
"""
import json
import subprocess
import time
import urllib.request

import nbformat
import pytest
from nbgrader.api import Gradebook

from browser import JupyterServer, Steps, browser_page, grade_by_hand
from conftest import ASSIGNMENT, VENV_BIN, nbgrader
from grading.preprocessors import RELEASE_UNGRADED
from hostile import CODE, STUDENT, XSS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# window.__xss in every frame of the page (an iframe's payload would set its own window's).
XSS_IN_FRAMES = "() => window.__xss === undefined ? null : window.__xss"
# The notebook's images; Task 4's (the student's epoch 10/20/30 grids) is the last before its grade box.
IMAGES = """() => {
  const task4 = document.querySelector('#task4_answer, a[name="task4_answer"]');
  return [...document.querySelectorAll('#notebook-container img')].map(img => ({
    src: img.getAttribute('src').slice(0, 22), alt: img.alt, width: img.naturalWidth, height: img.naturalHeight,
    beforeTask4: !!(img.compareDocumentPosition(task4) & Node.DOCUMENT_POSITION_FOLLOWING)}));
}"""


@pytest.fixture(scope="module")
def course(tmp_path_factory, graded_class):
    root = graded_class.root(STUDENT)
    nbgrader("generate_feedback", ASSIGNMENT, "--student", STUDENT, RELEASE_UNGRADED, cwd=root)
    autograded = root / "autograded" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    code = next(c for c in nbformat.read(autograded, as_version=4).cells if c.source.endswith(CODE))
    kinds = {key for output in code.outputs for key in output.get("data", {})}
    assert {"text/html", "application/javascript", "text/markdown", "image/png"} <= kinds, f"outputs: {code.outputs}"
    subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir", str(root / "control"),
                    str(autograded)], cwd=root.parent, check=True, capture_output=True, timeout=120)
    server = JupyterServer(root, tmp_path_factory.mktemp("home"))
    yield server
    server.stop()


def terminals(server):
    with urllib.request.urlopen(f"{server.url}/api/terminals", timeout=10) as response:
        return json.loads(response.read())


def payloads_ran(page):
    """What the payloads left behind in the page: window.__xss of each frame that has one, and the title."""
    page.wait_for_timeout(2000)  # onerror, onload and fetch happen after the page's load event
    ran = [value for frame in page.frames if (value := frame.evaluate(XSS_IN_FRAMES)) is not None]
    return ran, page.title()


def check_view(page, server):
    """No payload ran in the page; mallory's content is there, sanitised, with its images, table and math."""
    ran, title = payloads_ran(page)
    assert not ran and title != "XSS", f"student script ran: window.__xss={ran}, title={title!r}"
    assert terminals(server) == [], "a payload opened a terminal on the Jupyter server"
    text = page.inner_text("#notebook-container")
    assert "Mallory's notes" in text and "mallory was here" in text and "markdown output" in text
    assert "$x^2$" in text or page.locator("#notebook-container .MathJax").count() > 0, "math lost"
    assert page.locator("#notebook-container table th >> text=units").count() == 1, "markdown table lost"
    images = page.evaluate(IMAGES)
    broken = [img for img in images if img["src"].startswith("data:") and img["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    assert any(img["alt"] == "one pixel" and img["width"] == 1 for img in images), "markdown data: image lost"
    task4 = [img for img in images if img["beforeTask4"]][-1]
    assert task4["src"].startswith("data:image/png") and task4["width"] > 2.5 * task4["height"] > 0, \
        f"no epoch 10/20/30 images before Task 4's grade box: {task4}"


def test_formgrader_view_runs_no_student_script(course):
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    with browser_page() as page:
        steps = Steps(page, "sanitize-formgrader")
        with steps("open mallory's manual grading view"):
            page.goto(f"{course.url}/formgrader/submissions/{submission_id}/")
            page.wait_for_selector("#task1_answer", timeout=60_000)
            page.locator("#task1_answer").scroll_into_view_if_needed()
        with steps("no student script ran, her content is shown"):
            check_view(page, course)
        with steps("score her Task 1 answer"):
            assert grade_by_hand(page, course.root, STUDENT, "task1_answer", 1, "Answer in words, not script.") \
                == (1.0, "Answer in words, not script.")


def test_feedback_runs_no_student_script(course):
    feedback = course.root / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    with browser_page() as page:
        steps = Steps(page, "sanitize-feedback")
        for how, url in [("served by Jupyter", f"{course.url}/files/{feedback.relative_to(course.root)}"),
                         ("as a file", feedback.as_uri())]:
            with steps(f"open mallory's feedback {how}"):
                page.goto(url)
                page.wait_for_selector("#notebook-container", timeout=60_000)
            with steps(f"no student script ran in the feedback {how}, her content is shown"):
                check_view(page, course)


def test_control_the_payloads_are_live(course):
    """The payloads and their detection work: unsanitised, the same notebook runs them, and a script in
    formgrader's page would open a terminal (Jupyter serves /files/ sandboxed, formgrader is not)."""
    with browser_page() as page:
        steps = Steps(page, "sanitize-control")
        with steps("plain nbconvert's export of the same notebook runs the payloads"):
            page.goto(f"{course.url}/files/control/{ASSIGNMENT}.html")
            ran, title = payloads_ran(page)
            assert ran and max(ran) >= 3 and title == "XSS", f"window.__xss={ran}, title={title!r}"
        with steps("a payload run in formgrader's page opens a terminal"):
            page.goto(f"{course.url}/formgrader")
            page.evaluate("async code => { await eval(code); }", XSS)
            deadline = time.time() + 15
            while not (opened := terminals(course)) and time.time() < deadline:
                time.sleep(0.5)
            assert opened and page.title() == "XSS", "the payload's POST /api/terminals opened no terminal"
    for terminal in opened:  # leave the server as the other tests expect it, in whatever order they run
        request = urllib.request.Request(f"{course.url}/api/terminals/{terminal['name']}", method="DELETE")
        urllib.request.urlopen(request, timeout=10)
