"""The LMS round trip: Canvas's and Moodle's download zips collected by `nbgrader zip_collect`, the notebooks graded
without a results/ folder (their figures packed inside), and the CSV for the LMS's gradebook."""
import csv
import re
import subprocess

import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, VENV_BIN, nbgrader_cells, total_points
from graded_class import LMS_STUDENTS

pytestmark = pytest.mark.slow


def outputs_of(nb, grade_id=None, source=None):
    """The outputs of the cell with ``grade_id``, or of the code cell whose source starts with ``source``."""
    cell = nbgrader_cells(nb)[grade_id] if grade_id else next(c for c in nb.cells if c.source.startswith(source))
    return cell.outputs


def text(outputs):
    return "".join(o.get("text", "") for o in outputs)


def images(outputs):
    return [o for o in outputs if "image/png" in o.get("data", {})]


def test_canvas_and_moodle_downloads_are_collected(graded_class):
    """Every upload lands in submitted/<LMS id>/gan_mnist/gan_mnist.ipynb, renamed ones too; other files stay out."""
    root = graded_class.sections["lms"].root
    assert sorted(p.name for p in (root / "submitted").iterdir()) == sorted(LMS_STUDENTS)
    for student in LMS_STUDENTS:
        assert [p.name for p in (root / "submitted" / student / ASSIGNMENT).iterdir()] == [f"{ASSIGNMENT}.ipynb"]
    log = (root / "zip_collect.log").read_text()
    assert f"GAN final.ipynb: filed as {ASSIGNMENT}.ipynb" in log and f"{ASSIGNMENT}-1.ipynb: filed as" in log
    assert f"{len(LMS_STUDENTS)} files collected" in log


def test_a_notebook_alone_is_graded_as_with_its_folder(graded_class):
    """The LMS students score what the same notebooks scored when submitted with results/ (formgrader section)."""
    for student, demo in LMS_STUDENTS.items():
        assert graded_class.report[student]["status"] == "graded", graded_class.report[student]
        assert graded_class.scores(student) == graded_class.scores(demo), student


@pytest.mark.parametrize("student", ["12345", "1234567"])
def test_packed_figures_reach_the_grader(graded_class, student):
    """Task 4's images and the student's recorded figures, the submitted curves and final grid: from the notebook."""
    nb = graded_class.notebook(student)
    assert "taken from the figures packed in the notebook" in nb.cells[0].source
    task4 = outputs_of(nb, "task4_images")
    assert len(images(task4)) == 1, "Task 4's epoch images are not shown"
    assert "generator_epoch_10.pt was not submitted: epoch 10 is not measured again" in text(task4)
    assert re.search(r"epoch 10, your run +\d+\.\d", text(task4)) and "no weights submitted" in text(task4)
    assert "not measured" not in text(task4).replace("not measured again", "")
    for shows in ("helpers.plot_training", "helpers.show_submitted(PROFILE, \"final_grid.png\""):
        shown = outputs_of(nb, source=shows)
        assert images(shown) and "was not submitted" not in text(shown), shows


def test_missing_figures_are_said_plainly(graded_class):
    """A notebook uploaded without its run's figures: Task 4's cell says what is missing."""
    task4 = text(outputs_of(graded_class.notebook("7654321"), "task4_images"))
    assert "quality.json holds no figures for epoch 10" in task4
    assert "epoch_10.png is missing" in task4


def test_lms_export(graded_class, source_nb, tmp_path):
    """`make lms-export`'s CSV: each part's score adds up to the gradebook's total for every student."""
    root = graded_class.sections["lms"].root
    out = tmp_path / "grades-lms.csv"
    subprocess.run([str(VENV_BIN / "nbgrader"), "export", "--exporter=grading.lms.LmsExport", f"--to={out}"],
                   cwd=root, check=True, capture_output=True)
    with open(out) as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    parts = [column for column in next(iter(rows.values())) if column.endswith(")")]
    assert parts[:3] == ["2. Data (2)", "3. Model design (10)", "4. Training process (11)"], parts
    assert [p.split(":")[0] for p in parts[3:]] == ["Task 1", "Task 2", "Task 3", "Task 4"], parts
    assert sum(float(p.rsplit("(", 1)[1][:-1]) for p in parts) == total_points(source_nb)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in LMS_STUDENTS:
            row = rows[student]
            score = gb.find_submission(ASSIGNMENT, student).score
            assert float(row["total"]) == pytest.approx(score) == pytest.approx(sum(float(row[p]) for p in parts))
            assert row["max_total"] == f"{total_points(source_nb):g}" and row["submitted"] == "yes"
