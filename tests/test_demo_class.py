"""The committed demo class (demo/, its own course root) is what `make demo` makes from the current notebooks."""
import csv

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, REPO, autograded_test_points, points
from grading.demo import DEMO, PARTIAL_ANSWERS, WRITTEN_GRADES, filled, read_step, with_packed_results

DEMO_ROOT = REPO / DEMO
# The tests demo_partial's answers (transform, generator) pass.
PARTIAL_PASSES = {"test_data_range", "test_generator_shape", "test_generator_range", "test_generator_architecture"}


@pytest.mark.parametrize("student, answers", [("demo_complete", None), ("demo_partial", PARTIAL_ANSWERS)])
def test_demo_submissions_are_in_sync_with_the_notebooks(student, answers):
    folder = DEMO_ROOT / "submitted" / student / ASSIGNMENT
    committed = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
    expected = filled(read_step(REPO, "release"), read_step(REPO, "source"), answers)
    if answers is None:  # the complete run packed its figures into the notebook
        expected = with_packed_results(expected, folder / "results")
    assert committed == expected, "run `make demo` and commit"


def test_demo_class_is_graded_and_exported(source_nb):
    with open(DEMO_ROOT / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    written = {student: sum(points for points, _ in answers.values()) for student, answers in WRITTEN_GRADES.items()}
    assert float(rows["demo_complete"]["raw_score"]) == sum(autograded_test_points(source_nb).values()) + written["demo_complete"]
    assert float(rows["demo_partial"]["raw_score"]) == points(source_nb, PARTIAL_PASSES) + written["demo_partial"]
    for student in rows:
        assert (DEMO_ROOT / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        html = (DEMO_ROOT / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "_reference_step" not in html
        for _, comment in WRITTEN_GRADES[student].values():  # the feedback shows the graded written answers
            assert comment.replace("'", "&#39;") in html or comment in html, f"{student}'s feedback lacks {comment!r}"
    images = list((DEMO_ROOT / "autograded" / "demo_complete" / ASSIGNMENT / "results").glob("epoch_*.png"))
    assert len(images) == 10


def test_the_real_class_holds_no_demo_student():
    """The demo students live in demo/ only: nothing of theirs in the class's own folders or gradebook (if this
    checkout has one), to be exported with the class."""
    for folder in ("submitted", "autograded", "feedback"):
        assert not list((REPO / folder).glob("demo_*")), f"{folder}/ holds demo students"
    if (REPO / "gradebook.db").exists():
        with Gradebook(f"sqlite:///{REPO / 'gradebook.db'}") as gb:
            demo = [s.id for s in gb.students if s.id.startswith("demo_")]
        assert not demo, f"gradebook.db holds {demo}: `nbgrader db student remove <id> --force` (see docs/instructors.md, the demo class)"


def test_graders_see_the_submitted_full_run_and_the_rubrics_students_do_not():
    """In the autograded notebook (formgrader's view) each figure cell shows the submitted full run's figure after
    the short grading run's, and each task's question carries its rubric; the feedback students get has none."""
    graded = DEMO_ROOT / "autograded" / "demo_complete" / ASSIGNMENT
    nb = nbformat.read(graded / f"{ASSIGNMENT}.ipynb", as_version=4)

    def shown(marker):
        cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
        return [mime for output in cell.outputs for mime in output.get("data", {}) if mime.startswith("image/")]

    assert shown("helpers.plot_training(history") == ["image/png", "image/png"]  # the grading check's, then the submitted
    assert shown('"final_grid.png", "final grid"') == ["image/png"]
    assert shown("helpers.show_animation(") == ["image/gif", "image/png"]  # the submitted GIF, and its frames for formgrader
    questions = {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_question")}
    assert sorted(questions) == ["task1_question", "task2_question", "task4_question"]
    assert all("### BEGIN MARK SCHEME" in text and "**Rubric" in text for text in questions.values())
    html = (DEMO_ROOT / "feedback" / "demo_complete" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "MARK SCHEME" not in html and "Rubric" not in html
