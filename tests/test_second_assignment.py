"""A course has more than one lab (issue 16): a tiny second assignment, written here, goes through the same make
targets as the GAN lab (release, the hand-out, autograde in the sandbox on two workers and a PostgreSQL gradebook,
feedback, the class report), and its scores equal those of stock nbgrader (its own autograde steps, the stock python3
kernel, a sqlite gradebook) on the same submissions.
"""
import os
import shutil
import subprocess
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

from conftest import REPO, nbgrader, sandbox_lock

TINY = "arithmetic"
TITLE = "Arithmetic warm-up"
pytestmark = pytest.mark.slow


def cell(kind, source, grade_id, points=None):
    """A cell with nbgrader's metadata: a question, a student's answer, or a test worth ``points``."""
    meta = {"grade_id": grade_id, "locked": kind != "answer", "schema_version": 3,
            "solution": kind == "answer", "grade": kind == "test", "task": False}
    if points is not None:
        meta["points"] = points
    new = new_markdown_cell if kind == "question" else new_code_cell
    return new(source, metadata={"nbgrader": meta})


def tiny_assignment():
    """Two questions; the first's test has a hidden part."""
    return new_notebook(cells=[
        new_markdown_cell(f"# {TITLE}\n\nTwo small functions."),
        cell("question", "**1.** Write `add(a, b)`, the sum of two numbers.", "q_add"),
        cell("answer", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION", "add"),
        cell("test", '"""add works for the example and for numbers not shown."""\nassert add(1, 2) == 3, "add(1, 2) '
                     'should be 3"\n### BEGIN HIDDEN TESTS\nassert add(-4, 10) == 6\n### END HIDDEN TESTS',
             "test_add", points=2),
        cell("question", "**2.** Write `double(x)`.", "q_double"),
        cell("answer", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double"),
        cell("test", '"""double doubles."""\nassert double(4) == 8, "double(4) should be 8"', "test_double", points=1),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def answered(nb, answers):
    """``nb`` with the answer cells' code replaced (grade_id: code)."""
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return nb


def make(target, course, url, *variables):
    return subprocess.run(["make", "-C", str(REPO), target, f"ASSIGNMENT={TINY}", f"COURSE={course}", *variables],
                          env=dict(os.environ, GRADEBOOK_URL=url), capture_output=True, text=True, timeout=900)


def scores(url):
    with Gradebook(url) as gb:
        return {s.student_id: (s.score, s.max_score) for s in gb.find_assignment(TINY).submissions}


def test_a_second_assignment_goes_through_the_same_targets_and_scores_as_stock_nbgrader(postgres, tmp_path):
    """release, handout, autograde (sandboxed, WORKERS=2), feedback and class-report with ASSIGNMENT= and COURSE=;
    every student's score equals stock nbgrader's on the same submissions."""
    course, stock, url = tmp_path / "course", tmp_path / "stock", postgres("arithmetic")
    (course / "source" / TINY).mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    nbformat.write(tiny_assignment(), course / "source" / TINY / f"{TINY}.ipynb")
    proc = make("release", course, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    release = nbformat.read(course / "release" / TINY / f"{TINY}.ipynb", as_version=4)
    text = "\n".join(c.source for c in release.cells)
    assert "return a + b" not in text and "add(-4, 10)" not in text and "raise NotImplementedError" in text

    proc = make("handout", course, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(course / "dist" / f"{TINY}-student.zip") as zf:
        handed, readme = zf.read(f"{TINY}/{TINY}.ipynb"), zf.read(f"{TINY}/README.md").decode()
    assert handed == (course / "release" / TINY / f"{TINY}.ipynb").read_bytes(), "the hand-out's notebook differs"
    assert readme.startswith(f"# {TITLE}\n") and f"jupyter lab {TINY}.ipynb" in readme, readme

    submissions = {"right": {"add": "def add(a, b):\n    return a + b", "double": "def double(x):\n    return x + x"},
                   "hard_codes_the_example": {"add": "def add(a, b):\n    return 3", "double": "def double(x):\n    return 2 * x"},
                   "untouched": {}}
    shutil.copytree(course / "source", stock / "source")
    (stock / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "stock"\n')
    for root in (course, stock):
        for student, answers in submissions.items():
            folder = root / "submitted" / student / TINY
            folder.mkdir(parents=True)
            nbformat.write(answered(release, answers), folder / f"{TINY}.ipynb")

    with sandbox_lock():  # apart from the tests that need the sandbox to themselves, in make test's other runs
        proc = make("autograde", course, url, "WORKERS=2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "3 of 3 submissions autograded (2 workers)" in proc.stdout, proc.stdout[-3000:]
    mine = scores(url)
    assert mine == {"right": (3, 3), "hard_codes_the_example": (1, 3), "untouched": (0, 3)}, mine
    record = nbformat.read(course / "autograded" / "right" / TINY / f"{TINY}.ipynb", as_version=4).metadata.gan_grading
    assert record["trusted"] == {} and record["task4_figures"] == {}  # the GAN lab's re-check stayed out of it

    nbgrader("generate_assignment", TINY, cwd=stock)
    nbgrader("autograde", TINY, cwd=stock)
    assert scores(f"sqlite:///{stock / 'gradebook.db'}") == mine

    proc = make("feedback", course, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    feedback = (course / "feedback" / "right" / TINY / f"{TINY}.html").read_text()
    assert "add(1, 2)" in feedback and "add(-4, 10)" not in feedback  # the hidden test stays hidden

    proc = make("class-report", course, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (course / "class-report" / "index.html").exists()
