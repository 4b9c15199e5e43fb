"""grading.exchange.TrustedCollect: what a student writes into the exchange's inbound is checked before it is collected."""
import logging
import os
import pwd
import uuid
from datetime import datetime, timedelta

import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from conftest import ASSIGNMENT, VENV_BIN
from grading.exchange import TIMESTAMP_FORMAT, TrustedCollect, UntrustedSubmission, copy_plain

ME = pwd.getpwuid(os.getuid()).pw_name  # the account that makes this test's submissions


@pytest.fixture
def exchange(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")  # the gradebook's alembic
    inbound = tmp_path / "exchange" / "course" / "inbound"
    inbound.mkdir(parents=True)
    (tmp_path / "course").mkdir()
    return tmp_path


def submit(root, student, when, files):
    """A submission folder as nbgrader's submit writes it: student+assignment+time+random, and timestamp.txt."""
    folder = root / "exchange" / "course" / "inbound" / f"{student}+{ASSIGNMENT}+{when.strftime(TIMESTAMP_FORMAT)}+{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT))
    return folder


def collect(root, caplog):
    config = Config()
    config.Exchange.root = str(root / "exchange")
    config.CourseDirectory.root = str(root / "course")
    config.CourseDirectory.course_id = "course"
    config.CourseDirectory.assignment_id = ASSIGNMENT
    log = logging.getLogger("collect-test")
    with caplog.at_level(logging.INFO, logger="collect-test"):
        TrustedCollect(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                       config=config, log=log).start()
    return root / "course" / "submitted", caplog.text


def now():
    return datetime.utcnow()


def test_only_the_students_own_plain_submissions_are_collected(exchange, caplog):
    secret = exchange / "course" / "gradebook-secret.txt"
    secret.write_text("the course's solutions")
    submit(exchange, ME, now(), {f"{ASSIGNMENT}.ipynb": "genuine"})
    submit(exchange, "classmate", now() + timedelta(hours=1), {f"{ASSIGNMENT}.ipynb": "filed under a classmate's name"})
    linked = submit(exchange, ME, now() + timedelta(seconds=5), {f"{ASSIGNMENT}.ipynb": "with a link"})
    os.symlink(secret, linked / "notes.txt")
    fifo = submit(exchange, ME, now() + timedelta(seconds=10), {f"{ASSIGNMENT}.ipynb": "with a FIFO"})
    os.mkfifo(fifo / "pipe")
    (exchange / "exchange" / "course" / "inbound" / f"{ME}+{ASSIGNMENT}+not a time").mkdir()
    deep = submit(exchange, ME, now() + timedelta(seconds=15), {f"{ASSIGNMENT}.ipynb": "1,100 folders deep"})
    for depth in range(1, 1101):  # deeper than Python's recursion: one submission's error, not the collect's
        (deep / ("d/" * depth)).mkdir()
    try:
        submitted, log = collect(exchange, caplog)
    finally:  # shutil.rmtree, which pytest cleans up with, would run out of recursion too
        for depth in range(1100, 0, -1):
            (deep / ("d/" * depth)).rmdir()
    assert sorted(p.name for p in submitted.iterdir()) == [ME], "only the account's own submission is collected"
    assert (submitted / ME / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == "genuine"
    assert not any("solutions" in p.read_text() for p in (submitted / ME).rglob("*") if p.is_file())
    assert f"made by {ME}, not by classmate" in log and "holds a link or special file (notes.txt)" in log
    assert "holds a link or special file (pipe)" in log and "not a time" in log
    assert "recursion" in log and len(list((exchange / "exchange" / "course" / "inbound").iterdir())) == 6, \
        "everything stays in inbound"


def test_a_backdated_submission_is_dated_when_it_was_written_and_gets_a_secret(exchange, caplog):
    submit(exchange, ME, now() - timedelta(days=1), {f"{ASSIGNMENT}.ipynb": "backdated"})
    submitted, log = collect(exchange, caplog)
    stamp = (submitted / ME / ASSIGNMENT / "timestamp.txt").read_text()
    assert abs(datetime.strptime(stamp, TIMESTAMP_FORMAT) - now()) < timedelta(seconds=60), stamp
    assert "collected as written" in log
    secret = (submitted / ME / ASSIGNMENT / "submission_secret.txt").read_text()  # release_feedback needs one
    assert len(secret) == 128 and int(secret, 16) >= 0


def test_a_link_swapped_in_after_the_scan_is_not_followed(tmp_path):
    source = tmp_path / "submission"
    source.mkdir()
    (tmp_path / "secret.txt").write_text("the course's solutions")
    os.symlink(tmp_path / "secret.txt", source / "results.txt")
    fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(UntrustedSubmission):
            copy_plain(fd, tmp_path / "copy", lambda name: False, [10**6], logging.getLogger("copy-test"))
    finally:
        os.close(fd)
    assert not (tmp_path / "copy" / "results.txt").exists()
