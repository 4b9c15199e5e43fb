"""Grading on a busy machine (issue 16): a correct student keeps full marks when a second grading shares the CPU,
and a grading that a busy machine still stops is "needs regrade", never a silent 0.

Both make the load on one core (the graders and what competes with them pinned to it with ``taskset``), so that
the tests are as busy as meant on any machine and `make test`'s other runs keep the other cores. The infinite
loop stopped by its CPU budget, the student's own doing, is in tests/test_hostile_submissions.py (``loops_forever``,
``ignores_interrupts``), and the sleeping notebook stopped by the wall clock there too (``hogs_wall_clock``).
"""
import os
import signal
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, REPO, SOURCE_NB, VENV_ENV, autograde_report, new_course, sandbox_lock, submit
from grading.sandbox import NeedsRegradeError, SandboxedExecute, SandboxLimitError, Window

CORE = str(max(os.sched_getaffinity(0)))


def spent(wall, cpu, samples, wanting):
    window = Window()
    window.wall, window.cpu, window.samples, window.wanting = wall, cpu, samples, wanting
    return window


def test_a_wall_clock_stop_is_the_machines_doing_only_when_the_sandbox_waited_for_a_cpu():
    """Wanting a CPU more often than having one, by a quarter of the time, is a busy machine; computing through
    the limit or sleeping is the student's code; a stop before any cell ran is the machine's."""
    execute = SandboxedExecute()
    execute._threads = 1
    starved = execute._wall_clock_stop("limit", spent(wall=100, cpu=30, samples=500, wanting=480))
    assert type(starved) is NeedsRegradeError and "waited for a CPU 66%" in str(starved)
    for computing_or_sleeping in (spent(100, 90, 500, 490), spent(100, 2, 500, 10)):
        own = execute._wall_clock_stop("limit", computing_or_sleeping)
        assert type(own) is SandboxLimitError and str(own).startswith("limit (the student's code computed"), own
    assert type(execute._wall_clock_stop("limit", spent(5, 1, 0, 0))) is NeedsRegradeError


def batch(root, wait=True):
    """The instructor's `make autograde` for the course ``root``, pinned to CORE (a Popen when not ``wait``).
    Callers hold ``sandbox_lock``: it keeps them apart from the tests that need the sandbox to themselves."""
    command = ["taskset", "-c", CORE, sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root)]
    if wait:
        return subprocess.run(command, cwd=REPO, env=VENV_ENV, capture_output=True, text=True, timeout=1200)
    return subprocess.Popen(command, cwd=REPO, env=VENV_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def flagged(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).flagged


@pytest.mark.slow
def test_the_reference_graded_beside_a_second_grading_keeps_full_marks(tmp_path):
    """The reference, graded while a second course grades two copies of it on the same core: full marks, or
    "needs regrade" and flagged, never a lower score."""
    mine, theirs = new_course(tmp_path / "mine"), new_course(tmp_path / "theirs")
    submit(mine, "reference", SOURCE_NB)
    for student in ("copy1", "copy2"):
        submit(theirs, student, SOURCE_NB)
    with sandbox_lock():
        second = batch(theirs, wait=False)
        try:
            time.sleep(15)  # its first grading under way
            assert second.poll() is None, "the second course's batch ended before the test's grading began"
            proc = batch(mine)
        finally:
            second.send_signal(signal.SIGINT)  # the batch ends its workers, their nbgrader and sandboxes
            second.wait(timeout=120)
    row = autograde_report(mine)["reference"]
    if row["status"] == "needs regrade":
        assert proc.returncode == 1 and flagged(mine, "reference"), proc.stdout
    else:
        assert (row["status"], row["score"]) == ("graded", row["max_score"]), (row, proc.stdout[-2000:])


@pytest.mark.slow
def test_a_grading_stopped_twice_by_a_busy_machine_needs_regrade_and_the_next_run_grades_it(tmp_path):
    """Two busy loops on the grader's core, and a notebook time limit (20 s) that the reference needs most of on a
    quiet core: stopped, tried again in a fresh kernel, stopped again. Reported "needs regrade" with the reason,
    no score, no graded notebook, flagged in the gradebook (formgrader shows it); the next run, on a quiet machine
    with the course's usual limit, grades it in full."""
    course = new_course(tmp_path / "course")
    config = course / "nbgrader_config.py"
    usual = config.read_text()
    config.write_text(usual + "\nc.SandboxedExecute.notebook_seconds = 20\n")
    submit(course, "reference", SOURCE_NB)
    loops = [subprocess.Popen(["taskset", "-c", CORE, sys.executable, "-c", "while True: pass"], start_new_session=True)
             for _ in range(2)]  # each its own session, as another grading's kernel is: the scheduler shares by session
    try:
        with sandbox_lock():
            proc = batch(course)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    row = autograde_report(course)["reference"]
    assert proc.returncode == 1 and row["status"] == "needs regrade", (row, proc.stdout[-2000:], proc.stderr[-2000:])
    assert row["message"].startswith("timed out: needs regrade: wall-clock limit of 20 s") and row["score"] == "", row
    assert "waited for a CPU" in row["message"] or "before the student's code ran" in row["message"], row
    assert "stopped twice by a busy machine" in proc.stdout and "reference" in proc.stdout.split("stopped twice")[1]
    assert not (course / "autograded" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    assert flagged(course, "reference")

    config.write_text(usual)
    with sandbox_lock():
        proc = subprocess.run([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(course)], cwd=REPO,
                              env=VENV_ENV, capture_output=True, text=True, timeout=1200)
    row = autograde_report(course)["reference"]
    assert (row["status"], row["score"]) == ("graded", row["max_score"]), (row, proc.stdout[-2000:])
