"""A real `nbgrader autograde` of the class (tests/graded_class.py): the solution and the untouched release.

alice submits the instructor's solution with her own results/ images; bob submits the untouched release
notebook. alice gets every autograded point, bob none, and alice's autograded notebook shows her own epoch
10/20/30 images for Task 4 even though the instructor's source/ folder holds different ones.
"""
import base64
import io

import nbformat
import numpy as np
import pytest
from PIL import Image

from conftest import ASSIGNMENT, autograded_test_points, nbgrader, nbgrader_cells
from graded_class import STUDENT_SHADE
from grading.preprocessors import RELEASE_UNGRADED

pytestmark = pytest.mark.slow


def shown_image(cell):
    """The PNG a code cell displayed, as a grey-scale array in [0, 1]."""
    pngs = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, f"expected one image in the output of {cell.metadata.nbgrader['grade_id']}, got {len(pngs)}"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert("L")) / 255


def test_solution_gets_every_autograded_point(graded_class, source_nb):
    assert graded_class.scores("alice") == autograded_test_points(source_nb)
    row = graded_class.sections["class"].first_report["alice"]
    assert (row["status"], row["message"], row["review"]) == ("graded", "", ""), row


def test_untouched_release_gets_zero_and_the_batch_completes(graded_class):
    assert sum(graded_class.scores("bob").values()) == 0
    assert graded_class.report["bob"]["status"] == "graded" and graded_class.report["bob"]["message"] == ""
    for student in ("alice", "bob"):
        assert (graded_class.root(student) / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_task4_shows_the_students_own_images(graded_class):
    autograded = graded_class.root("alice") / "autograded" / "alice" / ASSIGNMENT
    for epoch in (10, 20, 30):  # her images were not overwritten by the instructor's
        assert np.asarray(Image.open(autograded / "results" / f"epoch_{epoch}.png")).max() == STUDENT_SHADE
    notebook = nbformat.read(autograded / f"{ASSIGNMENT}.ipynb", as_version=4)
    shown = shown_image(nbgrader_cells(notebook)["task4_images"])
    assert (shown < 0.1).mean() > 0.3, "the Task 4 cell should show alice's (black) epoch images"


def test_grading_run_leaves_the_graded_folder_as_submitted(graded_class):
    """The short run writes results_quick/ in the sandbox's private copy; the student's results/ stay hers."""
    autograded = graded_class.root("alice") / "autograded" / "alice" / ASSIGNMENT
    assert sorted(p.name for p in autograded.iterdir()) == [f"{ASSIGNMENT}.ipynb", "results"]
    assert sorted(p.name for p in (autograded / "results").iterdir()) == ["epoch_10.png", "epoch_20.png", "epoch_30.png"]
    notebook = nbformat.read(autograded / f"{ASSIGNMENT}.ipynb", as_version=4)
    digits = [o for o in nbgrader_cells(notebook)["test_show_generated_digits"].outputs if "image/png" in o.get("data", {})]
    assert digits, "the grading run's digits should be shown in the notebook"


def test_feedback_shows_results_without_hidden_tests(graded_class):
    root = graded_class.root("alice")
    nbgrader("generate_feedback", ASSIGNMENT, "--student", "alice", RELEASE_UNGRADED, cwd=root)  # written answers ungraded
    html = (root / "feedback" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Check that train_step returns two finite float losses" in html  # visible test cells stay
    for hidden in ("BEGIN HIDDEN TESTS", "_reference_step", "z_gap", "1000 * torch.randn", "MARK SCHEME", "Rubric"):
        assert hidden not in html, f"feedback leaks hidden test code: {hidden!r}"
