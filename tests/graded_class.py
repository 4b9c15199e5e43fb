"""One graded class for the whole test run: every submission the tests need, autograded once, in the sandbox,
by the instructor's own command (``python -m grading.batch``, what ``make autograde`` runs).

The class sits in sections, course roots of their own (the repository's ``nbgrader_config.py``, source/ and
release/, one sqlite gradebook each), because a sqlite gradebook takes one grader at a time: the sections
are graded side by side, ``LANES`` at a time, every kernel on one PyTorch thread so that they do not spin
against each other.

- ``class``: alice (the solution with her own results/ images; graded first and alone, so that the tests see
  that the batch after her changed nothing of hers), bob (the untouched release notebook), and broken and
  hostile students beside them (tests/hostile.py).
- ``forgeries``: students who try to forge their verdicts or their Task 4 figures, or bring their own MNIST.
- ``limits``: submissions that run into a limit, with 15 s of CPU time a cell; ``wall_clock``: one that sleeps
  past a 180 s notebook.
- ``formgrader``: the two demo students and mallory (script payloads), for the browser tests.
- ``unscreened``: two forgeries with the screening switched off (what the trusted re-check alone makes of them).
- ``deadlines``: a due date, the demo's partial submission within the grace period and a day late, a renamed
  notebook, an empty submission.
- ``lms``: the two demo students' notebooks, without results/, uploaded to Canvas and to Moodle: the LMSs'
  download zips, collected by `nbgrader zip_collect` (``LMS_UPLOADS``).
"""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

import hostile
from helpers.data import MNIST_FILES
from conftest import (ASSIGNMENT, REPO, SOURCE_NB, VENV_BIN, auto_scores, autograded_test_points,
                      graded_notebook, new_course, submit)

LANES = int(os.environ.get("GAN_TEST_LANES", "3"))
DEMO_ROOT = REPO / "demo"
DEMO_RESULTS = DEMO_ROOT / "submitted" / "demo_complete" / ASSIGNMENT / "results"
DEMO_PARTIAL = DEMO_ROOT / "submitted" / "demo_partial" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"  # 8 autograded points
STUDENT_SHADE, INSTRUCTOR_SHADE = 0, 255  # alice's epoch images are black, the instructor's own white
NOT_GRADED = {"class": {"invalid_json", "plants_links_in_submission", "plants_a_fifo", "links_its_folder"},
              "deadlines": {"renamed_the_notebook", "submitted_nothing"},
              "limits": {"kills_its_kernel", "hogs_memory", "hogs_disk", "floods_processes", "ignores_interrupts",
                         "sleeps_through_interrupts"},
              "wall_clock": {"hogs_wall_clock"}}


def write_epoch_images(folder, shade):
    folder.mkdir(parents=True, exist_ok=True)
    for epoch in (10, 20, 30):
        Image.fromarray(np.full((242, 242), shade, np.uint8)).save(folder / f"epoch_{epoch}.png")


def digest(folder):
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@dataclass
class Section:
    name: str
    students: dict  # student -> notebook, a function(root, student) that puts the submission in place, or None
    config: str = ""  # lines added to the section's nbgrader_config.py
    prepare: callable = None  # function(root), before the batch: brings the None students' submissions in, sets a due date
    first: dict = field(default_factory=dict)  # graded alone, before the others
    root: Path = None
    proc: subprocess.CompletedProcess = None  # the batch of ``students``
    first_report: dict = None  # the report rows of the batch of ``first``
    before: dict = None  # what the section held after ``first`` was graded


class GradedClass:
    """Every section graded; a student's report row, course root, scores and graded notebook."""

    def __init__(self, sections):
        self.sections = {s.name: s for s in sections}
        self.report = {}  # the report row of each student's last batch
        self.repo_before = {"source": digest(REPO / "source"), "helpers": digest(REPO / "helpers")}
        self._section_of = {student: s for s in sections for student in [*s.first, *s.students]}
        assert len(self._section_of) == sum(len(s.first) + len(s.students) for s in sections), "a student in two sections"

    def root(self, student) -> Path:
        return self._section_of[student].root

    def scores(self, student):
        return auto_scores(self.root(student), student)

    def notebook(self, student):
        return graded_notebook(self.root(student), student)

    def lost(self, student, source_nb):
        """The autograded test cells in which ``student`` lost points."""
        scores = self.scores(student)
        return {gid for gid, points in autograded_test_points(source_nb).items() if scores[gid] < points}


def make_autograde(root, env):
    """`make autograde`'s command on the course ``root``."""
    return subprocess.run([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root)], cwd=REPO,
                          capture_output=True, text=True, timeout=1800, env=env)


def grade(section, env):
    """The instructor's command on the section's course root; the report rows it wrote."""
    proc = make_autograde(section.root, env)
    with open(section.root / "autograde_report.csv") as f:
        return proc, {row["student"]: row for row in csv.DictReader(f)}


def put(root, student, submission):
    if submission is None:
        return
    if callable(submission):
        submission(root, student)
    else:
        submit(root, student, submission)


def grade_section(section, base, env):
    section.root = new_course(base / section.name)
    with open(section.root / "nbgrader_config.py", "a") as config:
        config.write(section.config)
    rows = {}
    if section.first:
        for student, submission in section.first.items():
            put(section.root, student, submission)
        proc, section.first_report = grade(section, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        section.before = {"first files": {s: digest(section.root / "autograded" / s) for s in section.first},
                          "first scores": {s: auto_scores(section.root, s) for s in section.first},
                          "source": digest(section.root / "source"), "config": (section.root / "nbgrader_config.py").read_bytes()}
    for student, submission in section.students.items():
        put(section.root, student, submission)
    if section.prepare:
        section.prepare(section.root)
    section.proc, rows = grade(section, env)
    return rows


# Submissions that are more than a notebook: files beside it, links, a FIFO, a broken file.
def alice(root, student):
    write_epoch_images(root / "source" / ASSIGNMENT / "results", INSTRUCTOR_SHADE)
    write_epoch_images(submit(root, student, SOURCE_NB) / "results", STUDENT_SHADE)


def demo_student(root, student):
    shutil.copytree(DEMO_ROOT / "submitted" / student, root / "submitted" / student)


def mallory(root, student):
    shutil.copytree(DEMO_RESULTS, submit(root, student, hostile.mallorys_notebook()) / "results")  # Task 4's images


def invalid_json(root, student):
    (submit(root, student, SOURCE_NB) / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')


def plants_links_in_submission(root, student):
    links = submit(root, student, SOURCE_NB) / "results"
    links.mkdir()
    (links / "epoch_10.png").symlink_to(root / "gradebook.db")
    (links / "config.txt").symlink_to(root / "nbgrader_config.py")
    (links / "solutions.ipynb").symlink_to(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (links / "alice").symlink_to(root / "submitted" / "alice")
    os.link(root / "gradebook.db", links / "epoch_20.png")


def plants_a_fifo(root, student):
    os.mkfifo(submit(root, student, SOURCE_NB) / "results.png")


def links_its_folder(root, student):
    (root / "submitted" / student).mkdir()
    (root / "submitted" / student / ASSIGNMENT).symlink_to(root / "submitted" / "alice" / ASSIGNMENT)


def fakes_task4(root, student):
    results = submit(root, student, SOURCE_NB) / "results"
    shutil.copytree(DEMO_RESULTS, results)
    (results / "quality.json").write_text(json.dumps({str(e): hostile.FAKE_FIGURES for e in (10, 20, 30, 50)}))


# Uploads of the demo students' notebooks alone, as Canvas's and Moodle's "download all submissions" name them:
# {zip: {member: demo student}}; the LMS id in each name is the student id.
LMS_UPLOADS = {
    "submissions.zip": {  # Canvas: flat, <name>[_LATE]_<user id>_<attachment id>_<file name>; a re-upload gets -1
        f"democomplete_LATE_12345_67890_{ASSIGNMENT}-1.ipynb": "demo_complete"},
    "GAN-MNIST-Lab-Assignment-42.zip": {  # Moodle: in folders, or flat; the participant id
        f"Demo Complete_1234567_assignsubmission_file_/{ASSIGNMENT}.ipynb": "demo_complete",
        "Demo Partial_7654321_assignsubmission_file_GAN final.ipynb": "demo_partial",
        "Demo Partial_7654321_assignsubmission_onlinetext_/onlinetext.html": None}}
LMS_STUDENTS = {"12345": "demo_complete", "1234567": "demo_complete", "7654321": "demo_partial"}


def lms_downloads(root):
    """The LMSs' zips in downloaded/, then `make lms-collect`'s command."""
    archive = root / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    for name, uploads in LMS_UPLOADS.items():
        with zipfile.ZipFile(archive / name, "w") as zf:
            for member, demo in uploads.items():
                notebook = DEMO_ROOT / "submitted" / demo / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" if demo else None
                zf.writestr(member, notebook.read_bytes() if notebook else b"<p>see the notebook</p>")
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), "zip_collect", ASSIGNMENT], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (root / "zip_collect.log").write_text(proc.stdout + proc.stderr)


DUE, ON_TIME, LATE = "2026-11-20 12:00:00", "2026-11-20 12:10:00", "2026-11-21 14:00:00"  # UTC


def due_date(root):
    """The assignment's due date in the section's gradebook, as an instructor sets it."""
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE} UTC"],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def submitted_at(notebook, timestamp):
    def put(root, student):
        (submit(root, student, notebook) / "timestamp.txt").write_text(timestamp)
    return put


def renamed_the_notebook(root, student):
    folder = submit(root, student, SOURCE_NB)
    (folder / f"{ASSIGNMENT}.ipynb").rename(folder / "GAN final.ipynb")


def submitted_nothing(root, student):
    (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)


def brings_its_own_mnist(root, student):
    """The solution with empty MNIST files in a data/ folder beside it: grading must read the course's MNIST."""
    raw = submit(root, student, SOURCE_NB) / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        (raw / name).write_bytes(b"")


def sections(source_nb, release_nb, listener_port, base):
    """The class's sections, the longest first; the snooping student is told the class section's root and the
    test's listener."""
    h = hostile
    relu_unwatched = h.with_code(h.wrong("generator_relu").applied_to(source_nb), h.RELU_UNWATCHED, ["generator"])
    runtime = subprocess.run([str(VENV_BIN / "jupyter"), "--runtime-dir"], capture_output=True, text=True).stdout.strip()
    snoop = h.SNOOP.format(course=base / "class", canary=h.CANARY, port=listener_port, a=ASSIGNMENT, repo=REPO, runtime=runtime)
    return [
        Section("class", first={"alice": alice}, students={
            "bob": release_nb,
            "tampers_with_tests": h.tampers_with_tests(source_nb),
            "floods_the_output": h.flooding(source_nb),
            "copies_cells": h.copies_cells(source_nb),
            "snoops": h.with_code(h.with_code(source_nb, h.PLANT_LINKS), snoop),
            "invalid_json": invalid_json, "plants_links_in_submission": plants_links_in_submission,
            "plants_a_fifo": plants_a_fifo, "links_its_folder": links_its_folder}),
        Section("forgeries", students={
            **{student: h.forged(release_nb, source_nb, code) for student, code in h.FORGERIES.items()},
            "relu_with_the_checks_switched_off": relu_unwatched, "fakes_task4": fakes_task4,
            "brings_its_own_mnist": brings_its_own_mnist}),
        Section("limits", config=h.COURSE_LIMITS, students={
            "loops_forever": h.with_code(source_nb, "while True:\n    pass"),
            "ignores_interrupts": h.with_code(source_nb, h.IGNORES_INTERRUPTS),
            "sleeps_through_interrupts": h.with_code(source_nb, h.SLEEPS_THROUGH_INTERRUPTS),
            "kills_its_kernel": h.with_code(source_nb, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
            "hogs_memory": h.with_code(source_nb, "hoard = torch.ones(2 * 2**30)"),
            "hogs_disk": h.with_code(source_nb, "open('hoard.bin', 'wb').write(b'x' * (300 << 20))"),
            "floods_processes": h.with_code(source_nb, h.PROCESS_FLOOD)}),
        # seven cells sleeping 30 s: past the notebook's 180 s, each using no CPU time
        Section("wall_clock", config=h.COURSE_WALL_CLOCK, students={
            "hogs_wall_clock": h.with_code(source_nb, "import time\ntime.sleep(30)", h.EVERY_ANSWER_CELL)}),
        Section("formgrader", students={"demo_complete": demo_student, "demo_partial": demo_student, "mallory": mallory}),
        Section("unscreened", config="c.ScreenStudentCode.enabled = False\n", students={
            "unscreened_ast_forgery": h.forged(release_nb, source_nb, h.FORGERIES["forges_with_an_ast_transformer"]),
            "unscreened_relu_unwatched": relu_unwatched}),
        Section("lms", students=dict.fromkeys(LMS_STUDENTS), prepare=lms_downloads),
        Section("deadlines", prepare=due_date, students={
            "on_time": submitted_at(DEMO_PARTIAL, ON_TIME), "late": submitted_at(DEMO_PARTIAL, LATE),
            "renamed_the_notebook": renamed_the_notebook, "submitted_nothing": submitted_nothing}),
    ]


def graded_class(base, source_nb, release_nb, listener_port):
    """Build every section in ``base`` and grade them side by side."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", hostile.CANARY: "instructor-secret"}
    graded = GradedClass(sections(source_nb, release_nb, listener_port, base))
    with ThreadPoolExecutor(LANES) as lanes:
        for rows in lanes.map(lambda s: grade_section(s, base, env), graded.sections.values()):
            graded.report.update(rows)
    return graded
