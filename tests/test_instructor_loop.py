"""The instructor's loop on the real sqlite gradebook: manual grades survive a re-autograde, grades export,
and the committed demo class is what `make demo` makes."""
import csv

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, REPO, SOURCE_NB, nbgrader, new_course, submit
from grading.demo import PARTIAL_ANSWERS, filled, read_step

MANUAL = {"task1_answer": 3.5, "task2_answer": 4.0, "task4_answer": 2.0}


def test_manual_grades_survive_a_reautograde_and_are_exported(tmp_path):
    root = new_course(tmp_path / "course")
    submit(root, "alice", SOURCE_NB)
    nbgrader("autograde", ASSIGNMENT, cwd=root)
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db_url) as gb:  # what formgrader does when the instructor types a score and a comment
        for cell, score in MANUAL.items():
            gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_score = score
        gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_comment = "Cite your own images."
        gb.db.commit()

    nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    with Gradebook(db_url) as gb:
        for cell, score in MANUAL.items():
            assert gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_score == score
        assert gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_comment == "Cite your own images."
        submission = gb.find_submission(ASSIGNMENT, "alice")
        assert (submission.code_score, submission.written_score) == (23, sum(MANUAL.values()))

    nbgrader("export", cwd=root)
    with open(root / "grades.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == "alice")
    assert float(row["raw_score"]) == 23 + sum(MANUAL.values()) and float(row["max_score"]) == 35


@pytest.mark.parametrize("student, answers", [("demo_complete", None), ("demo_partial", PARTIAL_ANSWERS)])
def test_demo_submissions_are_in_sync_with_the_notebooks(student, answers):
    committed = nbformat.read(REPO / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert committed == filled(read_step("release"), read_step("source"), answers), "run `make demo` and commit"


def test_demo_class_is_graded_and_exported():
    with open(REPO / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["demo_complete"]["raw_score"]) == 23  # written answers wait for the instructor
    assert float(rows["demo_partial"]["raw_score"]) == 8  # data 2, generator shape 1, range 2, layers 3
    for student in rows:
        assert (REPO / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        html = (REPO / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "_reference_step" not in html
    images = list((REPO / "autograded" / "demo_complete" / ASSIGNMENT / "results").glob("epoch_*.png"))
    assert len(images) == 10
