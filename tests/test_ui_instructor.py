"""An instructor in formgrader: the assignment, the demo submissions, and a Task 4 answer to grade.

The graded class's section with the two demo students (tests/graded_class.py), autograded with the real
nbgrader, is served by JupyterLab with formgrader.
"""
import pytest

from browser import JupyterServer, Steps, browser_page, grade_by_hand
from conftest import ASSIGNMENT, graded_notebook
from grading.rebuild import GRADING_METADATA

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DEMOS = ("demo_complete", "demo_partial")
# The images shown by the Task 4 cell, that is the last images before Task 4's grade box.
TASK4_IMAGES = """() => {
  const answer = document.getElementById('task4_answer');
  const images = [...document.querySelectorAll('#notebook-container img')]
    .filter(img => img.compareDocumentPosition(answer) & Node.DOCUMENT_POSITION_FOLLOWING);
  const last = images[images.length - 1];
  return last ? {count: images.length, width: last.naturalWidth, height: last.naturalHeight} : null;
}"""


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory, graded_class):
    server = JupyterServer(graded_class.root("demo_complete"), tmp_path_factory.mktemp("home"))
    yield server
    server.stop()


def test_instructor_grades_task4_in_formgrader(formgrader):
    figures = graded_notebook(formgrader.root, "demo_complete").metadata[GRADING_METADATA]["task4_figures"]  # measured by the grader from the submitted weights
    with browser_page() as page:
        steps = Steps(page, "instructor")
        with steps("formgrader lists the assignment"):
            page.goto(f"{formgrader.url}/formgrader")
            page.wait_for_selector(f"td >> text={ASSIGNMENT}", timeout=60_000)
            assert "Manage Assignments" in page.content()
        with steps("the demo submissions are listed"):
            page.goto(f"{formgrader.url}/formgrader/manage_submissions/{ASSIGNMENT}")
            for student in DEMOS:
                page.wait_for_selector(f"td >> text={student}", timeout=30_000)
        with steps("the notebook's submissions, names shown"):
            page.goto(f"{formgrader.url}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
            page.wait_for_selector("text=Submission #2", timeout=30_000)
            page.click("#toggle_names")
        with steps("open demo_complete's manual grading view at Task 4"):
            page.click("a.name-shown >> text=demo_complete")
            page.wait_for_selector("#task4_answer", timeout=60_000)
            page.locator("#task4_answer").scroll_into_view_if_needed()
            shown = page.evaluate(TASK4_IMAGES)
            assert shown and shown["width"] > 2.5 * shown["height"] > 0, f"no epoch 10/20/30 images before Task 4: {shown}"
            text = page.inner_text("#notebook-container")
            assert "the grader's re-measure from the submitted weights" in text
            for epoch in ("10", "20", "30"):  # the table under the images: the run's record, the grader's re-measure
                assert f"epoch {epoch}, your run" in text and f"epoch {epoch}, grader's re-measure" in text
                assert f"{figures[epoch]['fid']:.1f}" in text
        with steps("score the Task 4 answer"):
            assert grade_by_hand(page, formgrader.root, "demo_complete", "task4_answer", 3, "Good comparison; cite the FID.") \
                == (3.0, "Good comparison; cite the FID.")
