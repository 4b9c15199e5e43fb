"""A real `nbgrader autograde` of a batch in a scratch copy of the course.

alice submits the instructor's solution with her own results/ images; bob submits the
untouched release notebook. The batch must complete, alice gets every autograded point,
bob none, and alice's autograded notebook shows her own epoch 10/20/30 images for Task 4
even though the instructor's source/ folder holds different ones.
"""
import base64
import io
import time

import nbformat
import numpy as np
import pytest
from PIL import Image

from conftest import (ASSIGNMENT, RELEASE_NB, SOURCE_NB, auto_scores, autograded_test_points, nbgrader,
                      nbgrader_cells, new_course, submit)

STUDENT_SHADE, INSTRUCTOR_SHADE = 0, 255  # alice's images are black, the instructor's white


def write_epoch_images(folder, shade):
    folder.mkdir(parents=True, exist_ok=True)
    for epoch in (10, 20, 30):
        Image.fromarray(np.full((242, 242), shade, np.uint8)).save(folder / f"epoch_{epoch}.png")


def shown_image(cell):
    """The PNG a code cell displayed, as a grey-scale array in [0, 1]."""
    pngs = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, f"expected one image in the output of {cell.metadata.nbgrader['grade_id']}, got {len(pngs)}"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert("L")) / 255


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = new_course(tmp_path_factory.mktemp("graded") / "course")
    write_epoch_images(root / "source" / ASSIGNMENT / "results", INSTRUCTOR_SHADE)
    write_epoch_images(submit(root, "alice", SOURCE_NB) / "results", STUDENT_SHADE)
    submit(root, "bob", RELEASE_NB)
    started = time.perf_counter()
    proc = nbgrader("autograde", ASSIGNMENT, cwd=root)
    print(f"autograde of 2 submissions: {time.perf_counter() - started:.1f} s")
    return root, proc


def test_solution_gets_every_autograded_point(graded_course, source_nb):
    root, _ = graded_course
    assert auto_scores(root, "alice") == autograded_test_points(source_nb)
    assert sum(autograded_test_points(source_nb).values()) == 23


def test_untouched_release_gets_zero_and_the_batch_completes(graded_course):
    root, proc = graded_course
    assert sum(auto_scores(root, "bob").values()) == 0
    for student in ("alice", "bob"):
        assert (root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert "ERROR" not in proc.stderr.replace("Kernel is running over TCP", "")


def test_task4_shows_the_students_own_images(graded_course):
    root, _ = graded_course
    autograded = root / "autograded" / "alice" / ASSIGNMENT
    for epoch in (10, 20, 30):  # her images were not overwritten by the instructor's
        assert np.asarray(Image.open(autograded / "results" / f"epoch_{epoch}.png")).max() == STUDENT_SHADE
    notebook = nbformat.read(autograded / f"{ASSIGNMENT}.ipynb", as_version=4)
    shown = shown_image(nbgrader_cells(notebook)["task4_images"])
    assert (shown < 0.1).mean() > 0.3, "the Task 4 cell should show alice's (black) epoch images"


def test_grading_run_leaves_the_graded_folder_as_submitted(graded_course):
    """The short run writes results_quick/ in the sandbox's private copy; the student's results/ stay hers."""
    root, _ = graded_course
    autograded = root / "autograded" / "alice" / ASSIGNMENT
    assert sorted(p.name for p in autograded.iterdir()) == [f"{ASSIGNMENT}.ipynb", "results"]
    assert sorted(p.name for p in (autograded / "results").iterdir()) == ["epoch_10.png", "epoch_20.png", "epoch_30.png"]
    notebook = nbformat.read(autograded / f"{ASSIGNMENT}.ipynb", as_version=4)
    digits = [o for o in nbgrader_cells(notebook)["test_show_generated_digits"].outputs if "image/png" in o.get("data", {})]
    assert digits, "the grading run's digits should be shown in the notebook"


def test_feedback_shows_results_without_hidden_tests(graded_course):
    root, _ = graded_course
    nbgrader("generate_feedback", ASSIGNMENT, cwd=root)
    html = (root / "feedback" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Check that train_step returns two finite float losses" in html  # visible test cells stay
    for hidden in ("BEGIN HIDDEN TESTS", "_reference_step", "_linear_layers", "1000 * torch.randn"):
        assert hidden not in html, f"feedback leaks hidden test code: {hidden!r}"
