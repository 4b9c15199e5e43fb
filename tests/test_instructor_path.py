"""The instructor's path (README, docs/instructors.md) on a fresh copy of the repository, and make targets
that cannot hurt a live course.

The copy holds the repository's files as a clone would (tracked and new files, nothing git ignores: no
gradebook, no class folders); make runs there with this checkout's environment and sandbox
(``make -o install -o sandbox``): its ``.venv`` and its ``grading`` package (the same files) are linked in,
because the sandbox's kernelspec runs this checkout's ``sandbox/kernel.sh``, which ``grading.sandbox``
accepts only from the checkout it belongs to.
"""
import csv
import os
import shutil
import subprocess

import nbformat
import pytest
from nbgrader.api import Comment, Grade, Gradebook

from conftest import (ASSIGNMENT, REPO, SANDBOX_KERNELSPEC, VENV_BIN, autograde_report, autograded_test_points,
                      total_points)
from grading.demo import filled
from graded_class import digest

pytestmark = pytest.mark.slow
MANUAL = {"task1_answer": 3.5, "task2_answer": 4.0, "task4_answer": 2.0}
COMMENT = ("task4_answer", "Cite your own images.")
KERNELSPEC = SANDBOX_KERNELSPEC / "kernel.json"


def fresh_copy(target):
    """The repository's tracked and untracked, not ignored, files in ``target``; .venv and grading/ linked to this one's."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source, copy = REPO / name, target / name
        if name.startswith("grading/") or not (source.exists() or source.is_symlink()):
            continue  # linked below; deleted in the working tree, not yet in git
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)  # with its time stamp: make must not think requirements changed
    for name in (".venv", "grading"):
        (target / name).symlink_to(REPO / name)
    return target


def make(root, *targets, check=True):
    proc = subprocess.run(["make", "-o", "install", "-o", "sandbox", *targets], cwd=root, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0 or not check, \
        f"make {' '.join(targets)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def grade_by_hand(root):
    """What formgrader does when a grader types alice's scores and a comment."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for cell, score in MANUAL.items():
            gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_score = score
        gb.find_comment(COMMENT[0], ASSIGNMENT, ASSIGNMENT, "alice").manual_comment = COMMENT[1]
        gb.db.commit()


def class_state(root):
    """Everything of the real class: its folders' files, grades.csv, and every score and comment in its gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grades = {(g.student.id, g.name): (g.auto_score, g.manual_score) for g in gb.db.query(Grade)}
        comments = {(c.student.id, c.name): c.manual_comment for c in gb.db.query(Comment)}
    folders = {folder: digest(root / folder) for folder in ("submitted", "autograded", "feedback")}
    return folders, (root / "grades.csv").read_bytes(), grades, comments


@pytest.fixture(scope="module")
def course(tmp_path_factory, source_nb):
    """A fresh copy after the instructor's path: `make release`, alice's submission, `make autograde`."""
    kernelspec = KERNELSPEC.read_bytes()
    root = fresh_copy(tmp_path_factory.mktemp("fresh") / "course")
    make(root, "release")
    folder = root / "submitted" / "alice" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(filled(nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4), source_nb),
                   folder / f"{ASSIGNMENT}.ipynb")
    yield root, make(root, "autograde")
    assert KERNELSPEC.read_bytes() == kernelspec, "make in the copy changed this checkout's sandbox kernelspec"


def test_readme_instructor_path_grades_a_submission(course, source_nb):
    root, proc = course
    row = autograde_report(root)["alice"]
    assert row["status"] == "graded" and float(row["score"]) == sum(autograded_test_points(source_nb).values()), row
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_folder_graded_elsewhere_is_reported_not_a_traceback(course):
    """autograded/<student>/ without grades in this gradebook (copied in, or a gradebook replaced): a clear message."""
    root, _ = course
    shutil.copytree(root / "submitted" / "alice", root / "submitted" / "ghost")
    shutil.copytree(root / "autograded" / "alice", root / "autograded" / "ghost")
    proc = make(root, "autograde", check=False)
    shutil.rmtree(root / "submitted" / "ghost")
    shutil.rmtree(root / "autograded" / "ghost")
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert "gradebook has no grades for it: `make regrade`" in autograde_report(root)["ghost"]["message"]
    assert autograde_report(root)["alice"]["status"] == "skipped"


def test_feedback_waits_for_the_written_answers(course):
    """`make feedback` withholds alice's feedback while her written answers wait for a grader, with a message that
    names them; RELEASE_UNGRADED=1 releases it anyway."""
    root, _ = course
    proc = make(root, "feedback", check=False)
    assert proc.returncode != 0, proc.stdout
    assert ("feedback for alice withheld: task1_answer, task2_answer, task4_answer not graded yet"
            in proc.stdout + proc.stderr), proc.stdout + proc.stderr
    assert not (root / "feedback" / "alice").exists()
    make(root, "feedback", "RELEASE_UNGRADED=1")
    assert (root / "feedback" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_a_regrade_keeps_manual_grades_after_a_backup_and_an_export(course, source_nb):
    root, _ = course
    grade_by_hand(root)
    graded = sum(autograded_test_points(source_nb).values()) + sum(MANUAL.values())

    proc = make(root, "regrade")
    assert autograde_report(root)["alice"]["status"] == "graded", proc.stdout
    exports = sorted((root / "gradebook-backups").glob("grades-*.csv"))
    assert exports and sorted((root / "gradebook-backups").glob("gradebook-*.db")), "no backup before the regrade"
    with open(exports[-1]) as f:
        assert float(next(r for r in csv.DictReader(f) if r["student_id"] == "alice")["raw_score"]) == graded
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for cell, score in MANUAL.items():
            assert gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, "alice").manual_score == score
        assert gb.find_comment(COMMENT[0], ASSIGNMENT, ASSIGNMENT, "alice").manual_comment == COMMENT[1]
        submission = gb.find_submission(ASSIGNMENT, "alice")
        assert (submission.code_score, submission.written_score) == (sum(autograded_test_points(source_nb).values()),
                                                                      sum(MANUAL.values()))

    subprocess.run([str(VENV_BIN / "nbgrader"), "export"], cwd=root, check=True, capture_output=True)
    with open(root / "grades.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == "alice")
    assert float(row["raw_score"]) == graded and float(row["max_score"]) == total_points(source_nb)
    make(root, "feedback")  # the answers graded before the regrade keep their scores: nothing is withheld


def test_demo_record_and_clean_leave_the_real_class_alone(course):
    """`make record` (which builds the demo class with `make demo`'s recipe) and `make clean` rebuild the demo
    in demo/ and touch nothing of the real class: its folders, grades.csv, its gradebook file, its students'
    scores and comments (a manual grade and a comment planted first)."""
    root, _ = course
    grade_by_hand(root)
    subprocess.run([str(VENV_BIN / "nbgrader"), "export"], cwd=root, check=True, capture_output=True)
    before, gradebook = class_state(root), (root / "gradebook.db").read_bytes()
    (root / "demo" / "grades.csv").unlink()
    (root / "results").mkdir()  # a training run's output, which `make clean` removes
    make(root, "record")
    make(root, "clean")
    assert class_state(root) == before
    assert (root / "gradebook.db").read_bytes() == gradebook
    assert (root / "demo" / "grades.csv").is_file() and (root / "demo" / "gradebook.db").is_file()
    assert not list((root / "submitted").glob("demo_*")) and not (root / "results").exists()
