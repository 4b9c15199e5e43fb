"""Broken and hostile submissions: each gets its expected result, the batch goes on, nobody else is touched.

The submissions (tests/hostile.py) are students of the graded class (tests/graded_class.py), graded by the
instructor's command (grading/batch.py, `make autograde`) with students' code in the sandbox
(sandbox/kernel.sh, grading/sandbox.py). In the class section alice is graded first, alone; then the broken
and hostile students beside her. Each hostile student must end with the expected status, score or reason;
alice's grades and files, the gradebook, the course's source/ and the repository must be exactly as before,
and no process of the sandbox user may be left. The submissions that run into a time limit sit in a section
with short limits (15 s of CPU time a cell; a 180 s notebook in a section of its own).

Students who try to forge their verdicts are caught layer by layer: by the screening of their code (needs
review, 0 points: grading/screening.py), and, in a section with the screening switched off, by the trusted
re-check of the hidden tests' evidence (grading/recheck.py).
"""
import csv
import glob
import json
import os
import re
import subprocess
import tempfile
import time

import pytest
from nbgrader.api import Gradebook

from conftest import (ASSIGNMENT, REPO, SANDBOX_KERNELSPEC, autograded_test_points, nbgrader, nbgrader_cells,
                      sandbox_lock, submit)
from graded_class import DEMO_RESULTS, NOT_GRADED, digest, make_autograde
from grading import batch
from grading.preprocessors import RELEASE_UNGRADED
from grading.rebuild import GRADING_METADATA
from grading.recheck import CHECKS
from grading.sandbox import untrusted_entries
from hostile import FORGERIES, forged, wrong

pytestmark = pytest.mark.slow


def sandbox_leftovers():
    """Processes of the sandbox user, and run folders and cgroups of sandboxes, that outlived their grading."""
    processes = subprocess.run(["pgrep", "-u", "gan-sandbox"], capture_output=True, text=True).stdout.split()
    run_dirs = glob.glob(os.path.join(tempfile.gettempdir(), "gan-sandbox-*"))
    cgroups = glob.glob("/sys/fs/cgroup/**/gan-sandbox-*", recursive=True)
    return processes + run_dirs + cgroups


def printed(graded_class, student):
    nb = graded_class.notebook(student)
    return "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def graded_record(graded_class, student):
    """The graded notebook's ``gan_grading`` record and its first cell (the grader's notes)."""
    nb = graded_class.notebook(student)
    return nb.metadata[GRADING_METADATA], nb.cells[0].source


def flagged(graded_class, student):
    with Gradebook(f"sqlite:///{graded_class.root(student) / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).flagged


@pytest.mark.parametrize("section", sorted(NOT_GRADED))
def test_the_batch_completes_and_reports_what_could_not_be_graded(graded_class, section):
    proc = graded_class.sections[section].proc
    report = {s: graded_class.report[s] for s in graded_class.sections[section].students}
    assert proc.returncode == 1, "the command must say that some submissions could not be graded"
    not_graded = {s for s, r in report.items() if r["status"] in ("failed", "refused")}
    assert not_graded == NOT_GRADED[section], report
    assert "could not be graded" in proc.stdout and sorted(NOT_GRADED[section])[0] in proc.stdout
    if section == "class":
        assert graded_class.report["alice"]["status"] == "skipped"  # graded before the batch


@pytest.mark.parametrize("student, reason", [
    ("kills_its_kernel", "the kernel died (killed by signal SIGKILL)"),
    ("invalid_json", "NotJSONError"),
    ("hogs_memory", "memory limit of 4 GiB reached"),
    ("hogs_disk", "disk limit of 200 MB reached"),
    ("hogs_wall_clock", "wall-clock limit of 180 s for the whole notebook reached"),
    ("floods_processes", "process limit of 512 processes and threads reached"),
    ("ignores_interrupts", "CPU time limit of 15 s for a cell reached, and the cell went on when interrupted"),
    ("sleeps_through_interrupts", "wall-clock limit of 15 s for a cell reached (the student's code computed 0% of "
                                  "the time, and waited for a CPU 0%: it was sleeping or blocked otherwise)"),
])
def test_each_limit_ends_the_grading_with_its_reason(graded_class, student, reason):
    report = graded_class.report[student]
    assert report["status"] == "failed"
    assert reason in report["message"], report["message"]
    assert not (graded_class.root(student) / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()


def test_a_sleeping_cell_is_stopped_at_the_cells_limit_not_the_notebooks(graded_class):
    """A cell that ignores the interrupt and sleeps holds a worker for the cell's limit, not the notebook's 600 s."""
    report = graded_class.report["sleeps_through_interrupts"]
    assert float(report["seconds"]) < 120, f"graded in {report['seconds']} s: it waited for more than the cell's limit"


@pytest.mark.parametrize("student, what", [
    ("plants_links_in_submission", "results/alice, results/config.txt, results/epoch_10.png, results/epoch_20.png, "
                                   "results/solutions.ipynb"),
    ("plants_a_fifo", "results.png"),
    ("links_its_folder", f"submitted/links_its_folder/{ASSIGNMENT} is a link"),
])
def test_links_and_special_files_in_a_submission_are_refused_unread(graded_class, student, what):
    report = graded_class.report[student]
    assert report["status"] == "refused" and what in report["message"], report
    assert not (graded_class.root(student) / "autograded" / student).exists()


@pytest.mark.parametrize("student", ["loops_forever", "floods_the_output"])
def test_harmless_once_contained_and_graded_in_full(graded_class, source_nb, student):
    report = graded_class.report[student]
    assert report["status"] == "graded" and report["review"] == "", report
    assert graded_class.lost(student, source_nb) == set()


def test_an_endless_cell_is_cut_off_at_the_cell_timeout(graded_class):
    nb = graded_class.notebook("loops_forever")
    assert any(o.get("ename") == "CellTimeoutError" for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_flooded_output_is_cut_to_the_limits(graded_class):
    path = graded_class.root("floods_the_output") / "autograded" / "floods_the_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 25_000_000
    text = path.read_text()
    assert "line cut at 10,000 characters" in text
    assert "output of 4.77 MB removed, over the 2 MB limit" in text
    assert "output of 19.1 MB removed" in text and "output of 28.6 MB removed" in text  # the error, the update
    assert "outputs beyond 20 MB for the notebook removed" in text


def test_tampered_tests_are_restored_claim_nothing_and_still_catch_the_mistake(graded_class, source_nb):
    report = graded_class.report["tampers_with_tests"]
    assert report["status"] == "graded"
    assert float(report["max_score"]) == sum(autograded_test_points(source_nb).values())
    assert graded_class.lost("tampers_with_tests", source_nb) == wrong("generator_ends_in_sigmoid").loses
    record, _ = graded_record(graded_class, "tampers_with_tests")
    assert any("grade_id the course does not know (my_generator_shape_test)" in note for note in record["notes"])


def test_copied_and_added_cells_are_reported_and_the_rest_grades_in_full(graded_class, source_nb):
    report = graded_class.report["copies_cells"]
    assert report["status"] == "graded" and report["review"] == ""
    assert graded_class.lost("copies_cells", source_nb) == set()
    record, notes = graded_record(graded_class, "copies_cells")
    assert any(n.startswith("train_step appears more than once") for n in record["notes"]), record["notes"]
    assert any("added or changed by the student: not run" in n for n in record["notes"])
    assert any("(my_extra_cell): not run" in n for n in record["notes"])
    assert "Grader's notes" in notes and not flagged(graded_class, "copies_cells")


@pytest.mark.parametrize("student", sorted(FORGERIES) + ["relu_with_the_checks_switched_off", "snoops"])
def test_code_that_reaches_into_the_grader_scores_0_and_needs_review(graded_class, source_nb, student):
    report = graded_class.report[student]
    assert report["status"] == "graded" and float(report["score"]) == 0, report
    assert report["review"].startswith("needs review: "), report
    record, notes = graded_record(graded_class, student)
    assert record["needs_review"] and "Needs review" in notes and flagged(graded_class, student)
    with Gradebook(f"sqlite:///{graded_class.root(student) / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades
        assert all(g.needs_manual_grade for g in grades if g.name in autograded_test_points(source_nb))
        cell = record["needs_review"][0].rsplit(" in ", 1)[1]
        comment = gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, student).auto_comment
    assert comment.startswith("Needs review"), comment


def test_without_screening_the_trusted_recheck_takes_the_forged_points(graded_class, source_nb):
    section = graded_class.sections["unscreened"]
    assert section.proc.returncode == 0, section.proc.stdout + section.proc.stderr
    relu = "unscreened_relu_unwatched"
    assert set(CHECKS) <= graded_class.lost("unscreened_ast_forgery", source_nb)
    assert graded_class.lost(relu, source_nb) == wrong("generator_relu").loses
    for student in section.students:
        record, notes = graded_record(graded_class, student)
        assert graded_class.report[student]["review"].startswith("refuted: ") and "Refuted by the trusted re-check" in notes
        assert record["needs_review"] == [] and flagged(graded_class, student)
    record, _ = graded_record(graded_class, relu)
    assert [r.split(":")[0] for r in record["refuted"]] == ["test_generator_architecture"]
    root = graded_class.root(relu)
    nbgrader("generate_feedback", ASSIGNMENT, "--student", relu, RELEASE_UNGRADED, cwd=root)
    html = (root / "feedback" / relu / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    html = html.replace("&#39;", "'")
    assert "0 points: this test passed in your notebook, but when the grader checked again" in html, "no note in the feedback"
    assert "Look again at what this test checks: Check the generator's size" in html
    assert "BEGIN HIDDEN TESTS" not in html and "_reference_step" not in html and "reference architecture" not in html


def test_task4_shows_the_graders_figures_and_names_copied_images(graded_class):
    report = graded_class.report["fakes_task4"]
    assert report["status"] == "graded" and report["review"].startswith("copied images"), report
    record, notes = graded_record(graded_class, "fakes_task4")
    assert record["copied_images"] and str(DEMO_RESULTS) in record["copied_images"][0] and "Copied images" in notes
    task4 = nbgrader_cells(graded_class.notebook("fakes_task4"))["task4_images"]
    shown = "".join(o.get("text", "") for o in task4.outputs)
    assert "the grader's re-measure from the submitted weights" in shown, shown
    assert re.search(r"epoch 10, grader's re-measure +\d+\.\d !", shown), shown
    assert record["task4_unconfirmed"] == [10, 20, 30] and "misses the recorded fid, confidence" in notes
    assert sum("image/png" in o.get("data", {}) for o in task4.outputs) == 1  # the three epochs side by side
    assert flagged(graded_class, "fakes_task4")


def test_feedback_leaves_the_graders_notes_out(graded_class):
    """The student's feedback shows the grader's Task 4 figures, not the graders' notes or their folders."""
    root = graded_class.root("fakes_task4")
    nbgrader("generate_feedback", ASSIGNMENT, "--student", "fakes_task4", RELEASE_UNGRADED, cwd=root)
    html = (root / "feedback" / "fakes_task4" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "the grader&#39;s re-measure from the submitted weights" in html or "the grader's re-measure from the submitted weights" in html
    for graders_only in ("Grader&#39;s notes", "Grader's notes", "identical to those in", str(DEMO_RESULTS.parent)):
        assert graders_only not in html, f"feedback shows the graders' {graders_only!r}"


def test_a_submission_cannot_bring_its_own_mnist(graded_class, source_nb):
    """Empty MNIST files in the submission's data/: the grading kernel reads the course's MNIST, every point stays."""
    assert graded_class.report["brings_its_own_mnist"]["status"] == "graded"
    assert graded_class.scores("brings_its_own_mnist") == autograded_test_points(source_nb)


def integrity_report(graded_class, section):
    with open(graded_class.sections[section].root / "integrity_report.csv") as f:
        return list(csv.DictReader(f))


def test_the_class_comparison_lists_copied_images_and_alike_solutions(graded_class):
    rows = integrity_report(graded_class, "class")
    assert any(r["kind"] == "similar code" and set(r["students"].split()) == {"alice", "copies_cells"} for r in rows)
    # fakes_task4 copied the demo's images, not a classmate's; mallory submitted those of demo_complete beside her
    assert not any(r["kind"] == "identical images" for r in integrity_report(graded_class, "forgeries"))
    identical = {r["students"] for r in integrity_report(graded_class, "formgrader") if r["kind"] == "identical images"}
    assert identical == {"demo_complete mallory"}, identical


def test_student_code_runs_unprivileged_offline_and_sees_nothing_of_the_course(graded_class, listener):
    line = next(l for l in printed(graded_class, "snoops").splitlines() if l.startswith("SNOOP "))
    report = json.loads(line[len("SNOOP "):])
    assert report.pop("uid") != 0 and report.pop("capabilities") == "0000000000000000"
    assert report.pop("canary") == "absent"
    passed = {"HOME", "PATH", "LANG", "MPLCONFIGDIR", "USER", "GAN_EVIDENCE_DIR", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING",
              "GAN_PROFILE", "GAN_PRECISION", "MNIST_ROOT", "CI", "OMP_NUM_THREADS", "PYTHONWARNINGS"}  # by sandbox/kernel.sh
    assert "PYTHONWARNINGS" in report["environment"], "the grading environment (grading.sandbox.GRADING_ENV) did not arrive"
    set_inside = {"PWD", "LC_CTYPE", "TORCHINDUCTOR_CACHE_DIR", "PAGER", "GIT_PAGER", "TERM", "CLICOLOR", "CLICOLOR_FORCE",
                  "FORCE_COLOR", "MPLBACKEND", "PYDEVD_USE_FRAME_EVAL"}  # by the shell, Python, ipykernel and torch
    assert set(report.pop("environment")) <= passed | set_inside
    got_through = {what: result for what, result in report.items() if not result.startswith("blocked: ")}
    assert got_through == {}
    assert listener[1] == [], "the sandbox reached a TCP listener on the host's 127.0.0.1"


def test_the_kernels_own_output_and_claims_do_not_reach_the_report(graded_class):
    proc = graded_class.sections["class"].proc
    assert "FLOOD-FD" not in proc.stdout + proc.stderr
    assert graded_class.report["snoops"]["status"] == "graded"  # its own MemoryError did not end the grading (its imports need review)


def test_nothing_the_kernel_writes_reaches_the_graded_folder(graded_class):
    assert "planted" in printed(graded_class, "snoops")
    folder = graded_class.root("snoops") / "autograded" / "snoops" / ASSIGNMENT
    assert untrusted_entries(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{ASSIGNMENT}.ipynb"]  # no results_quick/, no links


def test_nothing_outside_the_submissions_changed(graded_class):
    section = graded_class.sections["class"]
    root, before = section.root, section.before
    assert digest(root / "autograded" / "alice") == before["first files"]["alice"]
    assert graded_class.scores("alice") == before["first scores"]["alice"]
    assert digest(root / "source") == before["source"]
    assert (root / "nbgrader_config.py").read_bytes() == before["config"]
    assert digest(REPO / "source") == graded_class.repo_before["source"]
    assert digest(REPO / "helpers") == graded_class.repo_before["helpers"]
    for other in graded_class.sections.values():
        assert batch.gradebook_is_sound(other.root / "gradebook.db"), other.name
    with sandbox_lock(exclusive=True):
        deadline = time.monotonic() + 30  # a sandbox ends with its processes, then kernel.sh removes its cgroups
        while sandbox_leftovers() and time.monotonic() < deadline:
            time.sleep(1)
        assert sandbox_leftovers() == []


def test_the_gradebook_is_backed_up_before_each_batch(graded_class):
    """The class section ran two batches on an existing gradebook (alice's, then the others): two backups."""
    backups = sorted((graded_class.root("alice") / "gradebook-backups").glob("gradebook-*.db"))
    assert len(backups) == 2 and all(batch.gradebook_is_sound(b) for b in backups), backups


def test_a_damaged_gradebook_is_restored_from_its_backup(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    nbgrader("db", "student", "add", "alice", f"--db=sqlite:///{gradebook}", cwd=tmp_path)
    backup = batch.back_up_gradebook(f"sqlite:///{gradebook}", tmp_path / "gradebook-backups")
    gradebook.write_text('{"cells": []}')  # what a notebook written through a planted link would leave
    assert not batch.gradebook_is_sound(gradebook)
    damaged = batch.restore_gradebook(gradebook, backup)
    assert batch.gradebook_is_sound(gradebook) and damaged.read_text() == '{"cells": []}'


def test_plain_nbgrader_autograde_refuses_without_the_sandbox(graded_class, release_nb, source_nb, tmp_path):
    """With another gan-sandbox kernel found first (a user's own, on JUPYTER_PATH), no command runs student code;
    the one switch opts out, loudly. (The course's kernelspec stays: other test runs grade with it meanwhile.)"""
    root = graded_class.root("alice")
    marker = tmp_path / "student-code-ran"
    submit(root, "newcomer", forged(release_nb, source_nb, f"open({str(marker)!r}, 'w').write('ran')"))
    shadow = tmp_path / "jupyter" / "kernels" / SANDBOX_KERNELSPEC.name
    shadow.mkdir(parents=True)
    spec = json.loads((SANDBOX_KERNELSPEC / "kernel.json").read_text())
    unsandboxed = ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (shadow / "kernel.json").write_text(json.dumps({**spec, "argv": unsandboxed}))
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter")}
    refused = nbgrader("autograde", ASSIGNMENT, "--student", "newcomer", cwd=root, check=False, env=env)
    script = make_autograde(root, {**os.environ, **env})
    assert not marker.exists(), "student code ran without the sandbox"
    opted_out = nbgrader("autograde", ASSIGNMENT, "--student", "newcomer", cwd=root, check=False,
                         env={**env, "GAN_UNSANDBOXED_AUTOGRADE": "1"})
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "refusing to run student code outside the sandbox" in log and "make sandbox" in log
    assert "the gan-sandbox kernel runs python3, not this course's" in log, log[-2000:]
    assert script.returncode == 1 and "make sandbox" in script.stderr
    assert opted_out.returncode == 0 and "STUDENT CODE RUNS OUTSIDE THE SANDBOX" in opted_out.stdout + opted_out.stderr
    assert marker.read_text() == "ran"
