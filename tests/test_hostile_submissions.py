"""Broken and hostile submissions: each gets a clear result, the batch goes on, nobody else is touched.

alice is autograded first; then a batch of hostile submissions is graded by the instructor's
command (scripts/autograde_all.py) with students' code in the gan-sandbox kernel. Each hostile
student must end with the expected status and score, and alice's grades and files, the gradebook
and the course's source/ must be exactly as before.
"""
import copy
import csv
import hashlib
import subprocess
import sys

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbformat.v4 import new_code_cell

from conftest import ASSIGNMENT, REPO, SOURCE_NB, auto_scores, autograded_test_points, nbgrader_cells, new_course, submit
from wrong_submissions import CATALOGUE

ESCAPE = f"""
import shutil
from pathlib import Path
attempts = {{
    "overwrite the gradebook": lambda: Path("../../../gradebook.db").write_text("garbage"),
    "delete the source notebook": lambda: shutil.rmtree("../../../source"),
    "read the solutions": lambda: Path("{REPO}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb").read_text(),
    "read alice's notebook": lambda: Path("../../alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb").read_text(),
    "write into alice's folder": lambda: Path("../../alice/{ASSIGNMENT}/note.txt").write_text("hi"),
    "change the helpers": lambda: Path("{REPO}/helpers/__init__.py").write_text(""),
}}
for what, attempt in attempts.items():
    try:
        attempt()
    except OSError as err:
        print("blocked:", what, type(err).__name__)
"""


def with_extra_cell(nb, code, after):
    """A copy of ``nb`` with a student's code cell inserted after the cell ``after``."""
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
    nb.cells.insert(index + 1, new_code_cell(code))
    return nb


def without_cells(nb, grade_ids):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def with_wrong(nb, name):
    return next(w for w in CATALOGUE if w.name == name).applied_to(nb)


def digest(folder):
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grade_all(root):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "autograde_all.py"), ASSIGNMENT, "--root", str(root)],
                          capture_output=True, text=True, timeout=1800)
    with open(root / "autograde_report.csv") as f:
        return proc, {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory, source_nb):
    assert "gan-sandbox" in KernelSpecManager().find_kernel_specs(), "the sandbox kernel is missing: run `make sandbox`"
    root = new_course(tmp_path_factory.mktemp("hostile") / "course")
    submit(root, "alice", SOURCE_NB)
    first, _ = grade_all(root)
    assert first.returncode == 0, first.stdout + first.stderr
    before = {"alice files": digest(root / "autograded" / "alice"), "alice scores": auto_scores(root, "alice"),
              "source": digest(root / "source"), "repo source": digest(REPO / "source"), "helpers": digest(REPO / "helpers")}

    edited = with_wrong(source_nb, "generator_ends_in_sigmoid")
    for gid in ("test_generator_range", "test_generator_architecture"):
        nbgrader_cells(edited)[gid].source = '"""Check nothing."""\npass'
    submissions = {
        "loops_forever": with_extra_cell(source_nb, "while True:\n    pass", after="setup"),
        "kills_its_kernel": with_extra_cell(source_nb, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", after="setup"),
        "deletes_test_cells": without_cells(source_nb, {"test_generator_shape", "test_train_step_recipe"}),
        "edits_locked_tests": edited,
        "floods_the_output": with_extra_cell(source_nb, "for i in range(1_000_000):\n    print(i)\nprint('x' * 20_000_000)", after="setup"),
        "monkeypatches_tests": with_extra_cell(with_wrong(source_nb, "generator_relu"),
                                               "torch.allclose = lambda *args, **kwargs: True", after="test_generator_range"),
        "escapes_its_folder": with_extra_cell(source_nb, ESCAPE, after="setup"),
        "hogs_memory": with_extra_cell(source_nb, "hoard = torch.ones(10**11)", after="setup"),
    }
    for student, nb in submissions.items():
        submit(root, student, nb)
    (submit(root, "invalid_json", source_nb) / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    proc, report = grade_all(root)
    return root, before, proc, report


def lost_tests(root, student, source_nb):
    scores = auto_scores(root, student)
    return {gid for gid, points in autograded_test_points(source_nb).items() if scores[gid] < points}


def test_the_batch_completes_and_reports_what_could_not_be_graded(hostile_course):
    root, _, proc, report = hostile_course
    assert proc.returncode == 1, "the command must say that some submissions could not be graded"
    failed = {s: r["message"] for s, r in report.items() if r["status"] == "failed"}
    assert set(failed) == {"kills_its_kernel", "invalid_json"}
    assert "kernel died" in failed["kills_its_kernel"]
    assert "JSON" in failed["invalid_json"] or "NotJSONError" in failed["invalid_json"], failed["invalid_json"]
    assert report["alice"]["status"] == "skipped"
    assert "could not be graded" in proc.stdout and "invalid_json" in proc.stdout


@pytest.mark.parametrize("student", ["loops_forever", "deletes_test_cells", "floods_the_output", "escapes_its_folder", "hogs_memory"])
def test_harmless_once_contained_and_graded_in_full(hostile_course, source_nb, student):
    root, _, _, report = hostile_course
    assert report[student]["status"] == "graded"
    assert lost_tests(root, student, source_nb) == set()


def test_an_endless_cell_is_cut_off_at_the_cell_timeout(hostile_course):
    root = hostile_course[0]
    nb = nbformat.read(root / "autograded" / "loops_forever" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert any(o.get("ename") == "CellTimeoutError" for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_flooded_output_is_truncated(hostile_course):
    path = hostile_course[0] / "autograded" / "floods_the_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 2_000_000


def test_edited_tests_are_restored_and_still_catch_the_mistake(hostile_course, source_nb):
    root = hostile_course[0]
    assert lost_tests(root, "edits_locked_tests", source_nb) == {"test_generator_range", "test_generator_architecture"}


def test_monkeypatching_fails_every_later_test_and_says_why(hostile_course, source_nb):
    root = hostile_course[0]
    lost = lost_tests(root, "monkeypatches_tests", source_nb)
    assert lost == set(autograded_test_points(source_nb)) - {"test_data_range", "test_generator_shape", "test_generator_range"}
    nb = nbformat.read(root / "autograded" / "monkeypatches_tests" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    error = next(o for o in nbgrader_cells(nb)["test_generator_architecture"].outputs if o.output_type == "error")
    assert "replaces torch.allclose" in error.evalue


def test_sandbox_blocks_every_escape(hostile_course):
    root = hostile_course[0]
    nb = nbformat.read(root / "autograded" / "escapes_its_folder" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    for what in ("overwrite the gradebook", "delete the source notebook", "read the solutions", "read alice's notebook",
                 "write into alice's folder", "change the helpers"):
        assert f"blocked: {what}" in printed, what
    assert not (root / "autograded" / "alice" / ASSIGNMENT / "note.txt").exists()


def test_nothing_outside_the_submissions_changed(hostile_course):
    root, before, _, _ = hostile_course
    assert digest(root / "autograded" / "alice") == before["alice files"]
    assert auto_scores(root, "alice") == before["alice scores"]
    assert digest(root / "source") == before["source"]
    assert digest(REPO / "source") == before["repo source"] and digest(REPO / "helpers") == before["helpers"]
    assert (root / "gradebook.db").read_bytes().startswith(b"SQLite format 3")
