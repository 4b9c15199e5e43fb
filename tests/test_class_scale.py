"""Grading a class at scale: the PostgreSQL gradebook, the batch on several Dask workers, graders writing meanwhile.

PostgreSQL is the course's own (`make postgres`'s script), started here in a folder of this test run and stopped
at the end; each test gets a database of its own. The parallel batch is the instructor's command
(``python -m grading.batch --workers 2``, what `make autograde WORKERS=2` runs), in the sandbox: one of its workers
is killed in the middle of a student's grading, graders write manual scores and comments while it runs, and a
second batch is killed outright and run again.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest
import sqlalchemy as sa
from nbgrader.api import Grade, Gradebook

from conftest import (ASSIGNMENT, REPO, RELEASE_NB, SOURCE_NB, VENV_BIN, VENV_ENV, autograde_report, new_course,
                      sandbox_lock, submit)
from grading import analytics, batch
from grading.by_question.rubric import Rubric
from grading.gradebook import TABLES, copy_gradebook, table_rows

def all_rows(url):
    """{table: sorted rows} of every table of nbgrader's gradebook and of the rubric's beside it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {table.name: table_rows(connection, table) for table in TABLES}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_copying_a_gradebook_to_postgres_loses_nothing(postgres, tmp_path):
    """Students, submissions, autograded and manual scores, comments, flags: every row, and refused a second time."""
    source = new_course(tmp_path) / "gradebook.db"
    with Gradebook(f"sqlite:///{source}") as gb:  # two graded students, and what graders add by hand in formgrader
        for n, student in enumerate(["zoë", "li_wei"]):
            gb.add_student(student, first_name=student.title(), email=f"{n}@example.edu")
            submission = gb.add_submission(ASSIGNMENT, student)
            notebook = submission.notebooks[0]
            for grade in notebook.grades:
                grade.auto_score = grade.max_score * n
                grade.manual_score, grade.extra_credit = grade.max_score / 2, 0.5
            for comment in notebook.comments:
                comment.auto_comment, comment.manual_comment = "graded", f"read by the TA: {comment.name} ünïcode"
            notebook.flagged = bool(n)
        gb.db.commit()
        rubric = Rubric(gb)  # and a written answer graded by question, with rubric items
        question = rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer", seed=lambda: [("right", 3.0), ("wrong", -1.0)])
        answer = gb.find_grade("task1_answer", ASSIGNMENT, ASSIGNMENT, "zoë").id
        rubric.grade(question, [answer], [item.id for item in rubric.items(question)], 0.5, "ünïcode", "ta")
        expected = {s.student_id: (s.score, s.max_score, s.needs_manual_grade) for s in gb.find_assignment(ASSIGNMENT).submissions}
    before = source.read_bytes()
    target = postgres("copied")
    command = [sys.executable, "-m", "grading.gradebook", "copy", "--from", f"sqlite:///{source}", "--to", target]
    copied = subprocess.run(command, cwd=tmp_path, env=VENV_ENV, capture_output=True, text=True)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    rows = all_rows(f"sqlite:///{source}")
    assert rows["grade"] and rows["comment"] and rows["submitted_assignment"] and rows["student"] and rows["rubric_mark"]
    assert all_rows(target) == rows
    with Gradebook(target) as gb:
        assert {s.student_id: (s.score, s.max_score, s.needs_manual_grade)
                for s in gb.find_assignment(ASSIGNMENT).submissions} == expected
    again = subprocess.run(command, cwd=tmp_path, env=VENV_ENV, capture_output=True, text=True)
    assert again.returncode == 1 and "already holds a gradebook" in again.stderr, again.stdout + again.stderr
    assert all_rows(target) == rows and source.read_bytes() == before
    with Gradebook(target) as gb:  # grading by question goes on there: a new item takes the next id
        rubric = Rubric(gb)
        rubric.save_item(rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer"), None, "added on PostgreSQL", 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_graders_and_a_reweighting_at_once_leave_every_score_equal_to_its_items(backend, postgres, tmp_path):
    """Grading by question (grading/by_question/rubric.py): two graders grade the same answers over and over while
    an instructor re-weights an item, each through a connection of their own; every score then equals its items."""
    source = new_course(tmp_path) / "gradebook.db"
    students = [f"s{n:02d}" for n in range(12)]
    with Gradebook(f"sqlite:///{source}") as gb:
        for student in students:
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
    url = f"sqlite:///{source}"
    if backend == "postgresql":
        url = postgres("rubric")
        copy_gradebook(f"sqlite:///{source}", url)
    seed = [("right", 2.0), ("reasoned", 1.5), ("wrong claim", -1.0)]
    with Gradebook(url) as gb:
        rubric = Rubric(gb)
        items = [item.id for item in rubric.items(rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer", seed=lambda: seed))]
        answers = sorted(gb.find_grade("task1_answer", ASSIGNMENT, ASSIGNMENT, s).id for s in students)
    errors = []

    def as_a_grader(name, rounds):
        try:
            with Gradebook(url) as gb:
                rubric = Rubric(gb)
                question = rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer")
                for n in range(rounds):
                    for k, answer in enumerate(answers):
                        given = [item for bit, item in enumerate(items) if (n + k + len(name)) >> bit & 1]
                        rubric.grade(question, [answer], given, 0.25 * (k % 3), name, name)
        except Exception as err:  # noqa: BLE001 (reported by the test)
            errors.append(f"{name}: {err!r}")

    def as_the_instructor():
        try:
            with Gradebook(url) as gb:
                rubric = Rubric(gb)
                question = rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer")
                for points in [0.5, 3.0, 1.0, 2.5] * 5:
                    rubric.save_item(question, items[0], "right", points)
        except Exception as err:  # noqa: BLE001
            errors.append(f"instructor: {err!r}")

    threads = [threading.Thread(target=as_a_grader, args=("ta1", 4)), threading.Thread(target=as_a_grader, args=("ta22", 4)),
               threading.Thread(target=as_the_instructor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    with Gradebook(url) as gb:
        rubric = Rubric(gb)
        question = rubric.question(ASSIGNMENT, ASSIGNMENT, "task1_answer")
        points = {item.id: item.points for item in rubric.items(question)}
        assert points[items[0]] == 2.5
        for answer, state in rubric.states(question).items():
            grade = gb.db.get(Grade, answer)
            expected = min(max(sum(points[i] for i in state["items"]) + state["adjustment"], 0), 4)
            assert grade.manual_score == expected, (answer, state, grade.manual_score)
        assert sorted(rubric.states(question)) == answers


def test_several_workers_on_a_sqlite_gradebook_are_refused(tmp_path):
    root = new_course(tmp_path / "course")
    submit(root, "alice", SOURCE_NB)
    proc = subprocess.run([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root), "--workers", "2"],
                          cwd=REPO, env=VENV_ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "make postgres" in proc.stderr and "WORKERS=1" in proc.stderr, proc.stderr
    assert "locked" not in proc.stdout + proc.stderr and not (root / "autograded").exists()


def batch_processes(root):
    """Processes still working in the course (nbgrader, a sandbox's launcher)."""
    found = []
    for p in psutil.process_iter(["cwd", "cmdline"]):
        if p.info["cwd"] and p.info["cwd"].startswith(str(root)) and p.pid != os.getpid():
            found.append(" ".join(p.info["cmdline"] or [])[:120])
    return found


def nbgrader_of(root, student):
    """The batch's nbgrader process grading ``student`` in the course ``root``, or None."""
    for p in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = p.info["cmdline"] or []
        if p.info["cwd"] == str(root) and "autograde" in cmdline and student in cmdline:
            return p
    return None


class Grader(threading.Thread):
    """A TA in formgrader during the batch: as soon as a student is graded, gives every written answer a manual
    score and writes a comment on every cell, through nbgrader's Gradebook API; remembers what was written."""

    def __init__(self, root, url, students):
        super().__init__(daemon=True)
        self.root, self.url, self.todo, self.written, self.stop, self.errors = root, url, set(students), {}, False, []

    def run(self):
        while self.todo and not self.stop:
            for student in sorted(s for s in self.todo if batch.finished(self.root, ASSIGNMENT, s)):
                try:
                    self.grade(student)
                    self.todo.discard(student)
                except Exception as err:  # noqa: BLE001 (the test reports it)
                    self.errors.append(f"{student}: {err!r}")
            time.sleep(0.3)

    def grade(self, student):
        with Gradebook(self.url) as gb:
            notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            for grade in notebook.grades:
                if grade.cell_type == "markdown":
                    grade.manual_score = grade.max_score - 1
                    self.written[(student, grade.name, "score")] = grade.max_score - 1
            for comment in notebook.comments:
                comment.manual_comment = f"{student}: {comment.name} looks fine"
                self.written[(student, comment.name, "comment")] = comment.manual_comment
            gb.db.commit()

    def read_back(self):
        found = {}
        with Gradebook(self.url) as gb:
            for student, name, kind in self.written:
                notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
                if kind == "score":
                    found[(student, name, kind)] = next(g.manual_score for g in notebook.grades if g.name == name)
                else:
                    found[(student, name, kind)] = next(c.manual_comment for c in notebook.comments if c.name == name)
        return found


def as_under_nohup():
    """Ctrl-C's SIGINT as in a terminal, even when this test runs in the background (which ignores it); SIGHUP
    ignored, as `nohup make autograde` starts a long batch (the sandbox's cleanup when its grader dies must not
    depend on it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def start_batch(root, url, workers=2):
    return subprocess.Popen([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root), "--workers",
                             str(workers)], cwd=REPO, env=dict(VENV_ENV, GRADEBOOK_URL=url), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=as_under_nohup)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds} s")


@pytest.mark.slow
def test_a_parallel_batch_on_postgres_survives_a_lost_worker_a_killed_client_and_graders_writing(postgres, tmp_path):
    """Two workers: one killed in the middle of a student, TAs grading by hand meanwhile; then a batch interrupted
    with Ctrl-C, one killed outright, each run again. Every student ends with one graded submission, graded to the same score as the others
    like it, and every manual score and comment written during the batches is kept."""
    url = postgres("parallel")
    root = new_course(tmp_path / "course")
    subprocess.run([str(VENV_BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], cwd=root,
                   env=dict(VENV_ENV, GRADEBOOK_URL=url), check=True, capture_output=True)
    first = {"s1": SOURCE_NB, "s2": RELEASE_NB, "s3": SOURCE_NB, "s4": RELEASE_NB}
    for student, notebook in first.items():
        submit(root, student, notebook)
    grader = Grader(root, url, first)
    with sandbox_lock():
        grader.start()
        proc = start_batch(root, url)
        victim = wait_for(lambda: next((p for s in ("s3", "s4") if (p := nbgrader_of(root, s))
                                        and time.time() - p.create_time() > 2), None), 900, "a worker grading s3 or s4")
        killed_student = next(s for s in ("s3", "s4") if s in victim.cmdline())
        victim.parent().send_signal(signal.SIGKILL)  # the Dask worker, with the grading in it
        wait_for(lambda: not victim.is_running(), 120, "the lost worker's nbgrader ending")
        out, _ = proc.communicate(timeout=900)
        grader.join(timeout=60)
    assert proc.returncode == 0, out
    assert not grader.errors and not grader.todo, (grader.errors, grader.todo)
    rows = autograde_report(root)
    assert {s: r["status"] for s, r in rows.items()} == {s: "graded" for s in first}, out
    solved = {rows[s]["score"] for s in first if first[s] == SOURCE_NB}
    assert len(solved) == 1 and float(solved.pop()) > 0, (killed_student, rows)
    assert {rows[s]["score"] for s in first if first[s] == RELEASE_NB} == {"0.0"}, rows

    # Three new students: the batch interrupted (Ctrl-C) once one of them is finished, run again on one worker and
    # its client killed once another is (one worker: the third is not finished by then; two could finish together),
    # then run again to the end.
    second = ["t1", "t2", "t3"]
    for student in second:
        submit(root, student, SOURCE_NB)
    with sandbox_lock():
        for stop, finished_before, workers in ((signal.SIGINT, 1, 2), (signal.SIGKILL, 2, 1)):
            proc = start_batch(root, url, workers)
            done = wait_for(lambda: len(d := [s for s in second if batch.finished(root, ASSIGNMENT, s)]) >= finished_before
                            and d, 600, f"{finished_before} of the new students finished")
            proc.send_signal(stop)
            out, _ = proc.communicate(timeout=180)
            if stop == signal.SIGINT:
                assert proc.returncode == 130 and "interrupted" in out, out
            wait_for(lambda: not batch_processes(root), 120, "every grading process of the stopped batch ending")
        proc = start_batch(root, url)
        out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    rows = autograde_report(root)
    for student in [*first, *done]:
        assert rows[student]["status"] == "skipped", (student, rows[student])
    assert all(rows[s]["status"] in ("graded", "skipped") for s in second) and any(
        rows[s]["status"] == "graded" for s in second), rows
    assert {rows[s]["score"] for s in second} == {rows["s1"]["score"]}, rows
    assert not batch_processes(root)

    with Gradebook(url) as gb:
        submissions = [s.student_id for s in gb.find_assignment(ASSIGNMENT).submissions]
    assert sorted(submissions) == sorted([*first, *second])  # exactly one graded submission each
    assert sorted(p.name for p in (root / "autograded").iterdir()) == sorted([*first, *second])
    assert len(grader.written) >= 2 * len(first) and grader.read_back() == grader.written

    # The class report of it all, from the PostgreSQL gradebook.
    page = subprocess.run([sys.executable, "-m", "grading.analytics", ASSIGNMENT, "--root", str(root)], cwd=REPO,
                          env=dict(VENV_ENV, GRADEBOOK_URL=url), capture_output=True, text=True)
    assert page.returncode == 0, page.stdout + page.stderr
    html, graded = (root / "class-report" / "index.html").read_text(), len(first) + len(second)
    assert f"{graded} graded submissions" in html and "<script" not in html
    assert (root / "class-report" / "grades.png").stat().st_size > 1000
    with Gradebook(url) as gb:
        failed = {}
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            for grade in submission.notebooks[0].grades:
                if grade.cell_type == "code" and (grade.auto_score or 0) < grade.max_score:
                    failed[grade.name] = failed.get(grade.name, 0) + 1
    suspects = {name for name, n in failed.items() if n > graded / 2}
    assert html.count("suspect: most of the class fails it") == len(suspects), (suspects, failed)
    for student in second:  # nobody wrote their manual grades: pending
        assert f"<td>{student}</td>" in html.split("Manual grading pending")[1].split("Not graded")[0]


def test_the_class_report_shows_names_as_text():
    """Student ids and cell names come from folders and notebooks: the page escapes them and holds no script."""
    name = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    figures = {"scores": {name: 3.0, "bob": 26.0}, "max_score": 26.0, "tests": {name: 2.0}, "failures": {name: 2},
               "pending": {name: [name]}, "flagged": [name]}
    html = analytics.page(ASSIGNMENT, figures, [(name, f"failed: {name}")], 0.5)
    assert "<script" not in html and "<img src=x" not in html and html.count("&lt;script&gt;") == 6
    assert "suspect: most of the class fails it" in html  # failed by 2 of 2
