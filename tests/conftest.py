"""Shared paths and fixtures for the course's tests.

``graded_class`` is the one class that every grading test reads: all the submissions they need, autograded
once per run (tests/graded_class.py). ``course_copy`` and ``new_course`` build scratch nbgrader courses
(config, source/, release/) in a temp folder, so tests can run nbgrader for real without touching the
repository's gradebook or folders. Point totals come from the source notebook's metadata.
``postgres`` starts the course's PostgreSQL server (postgres/postgres.sh) for a test module, with a database
per test. ``sandbox_lock`` keeps the test that needs the sandbox to itself apart from grading in `make test`'s
other runs.
"""
import csv
import fcntl
import os
import tempfile
import shutil
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "gan_mnist"
SOURCE_NB = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE_NB = REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
VENV_BIN = Path(sys.executable).parent
SANDBOX_KERNELSPEC = VENV_BIN.parent / "share" / "jupyter" / "kernels" / "gan-sandbox"  # what `make sandbox` installs
# Every scratch course grades into its own sqlite gradebook on a local cluster, whatever the shell running the tests
# points at (tests/test_class_scale.py sets its own PostgreSQL gradebook).
for name in ("GRADEBOOK_URL", "DASK_SCHEDULER"):
    os.environ.pop(name, None)
VENV_ENV = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs alembic by name


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's cells wait 5 s for each output: too short on a busy machine
            item.output_timeout = 60


@contextmanager
def sandbox_lock(exclusive=False):
    """Grading in the sandbox (shared), or the sandbox to this test alone (exclusive: no sandbox process may
    exist), across `make test`'s three pytest runs. Every test that grades in the sandbox outside the sandboxed
    run holds it."""
    with open(Path(tempfile.gettempdir()) / "gan-tests-sandbox.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def nbgrader(*args, cwd, check=True, timeout=600, env=None):
    """Run the nbgrader CLI in ``cwd`` (a course root) with this venv's programs first on PATH (and ``env``)."""
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", **(env or {}))
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def nbgrader_cells(nb):
    """{grade_id: cell} for every cell with nbgrader metadata."""
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.fixture(scope="session")
def source_nb():
    return nbformat.read(SOURCE_NB, as_version=4)


@pytest.fixture(scope="session")
def release_nb():
    return nbformat.read(RELEASE_NB, as_version=4)


@pytest.fixture(scope="module")
def postgres():
    """A function(name) that creates an empty database on the course's PostgreSQL server and returns its URL."""
    state = Path(tempfile.mkdtemp(prefix="gan-tests-pg-"))  # not in pytest's folders: the server's account cannot enter them
    env = dict(VENV_ENV, GAN_POSTGRES_STATE=str(state))
    started = subprocess.run(["bash", "postgres/postgres.sh", "start"], cwd=REPO, env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    url = (state / "url").read_text().strip()
    assert "host=" in url and "@localhost" not in url and not (state / "data" / "server.log").read_text().count("listening on IPv")

    def database(name):
        with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as admin:
            admin.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return url.replace("/gradebook?", f"/{name}?")

    try:
        yield database
    finally:
        stopped = subprocess.run(["bash", "postgres/postgres.sh", "stop"], cwd=REPO, env=env, capture_output=True, text=True)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        shutil.rmtree(state)


@pytest.fixture
def course_copy(tmp_path):
    """A scratch course root holding the repository's nbgrader_config.py, source/ and release/."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    ignore = shutil.ignore_patterns("results_quick", ".ipynb_checkpoints", "__pycache__")
    for step in ("source", "release"):
        shutil.copytree(REPO / step, root / step, ignore=ignore)
    return root


def new_course(root):
    """A scratch course in ``root`` with the assignment generated and in its gradebook."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(SOURCE_NB.parent, root / "source" / ASSIGNMENT, ignore=shutil.ignore_patterns("results*"))
    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    return root


def submit(root, student, notebook):
    """Put ``notebook`` (a path, or a NotebookNode) in submitted/<student>/; return the folder.

    autograde adds unknown students to the gradebook itself (Autograde.create_student).
    """
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    target = folder / f"{ASSIGNMENT}.ipynb"
    if isinstance(notebook, Path):
        shutil.copy(notebook, target)
    else:
        nbformat.write(notebook, target)
    return folder


def autograde_report(root):
    """{student: row} of the batch's autograde_report.csv in the course ``root``."""
    with open(root / "autograde_report.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def graded_notebook(root, student):
    """The autograded notebook of one student's submission."""
    return nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def auto_scores(root, student):
    """{grade_id: auto_score} of the autograder test cells of one student's submission."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.auto_score for g in notebook.grades if g.cell_type == "code"}


def autograded_test_points(nb):
    """{grade_id: points} of the autograder test cells."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")}


def points(nb, grade_ids):
    """The points of the graded cells ``grade_ids``."""
    cells = nbgrader_cells(nb)
    return sum(cells[gid].metadata.nbgrader["points"] for gid in grade_ids)


def total_points(nb):
    """The assignment's total: every graded cell, autograded tests and written answers."""
    return sum(c.metadata.nbgrader["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="session")
def listener():
    """A TCP listener on 127.0.0.1 that records every connection it accepts (no student may reach it)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                accepted.append(server.accept())
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, source_nb, release_nb, listener):
    """Every submission the grading tests need, autograded once in the sandbox (tests/graded_class.py)."""
    from grading.sandbox import sandbox_problem
    assert sandbox_problem() is None, "the sandbox is not installed: run `make sandbox`"
    import graded_class as built  # imports this module: only once the session needs the class
    return built.graded_class(tmp_path_factory.mktemp("graded_class"), source_nb, release_nb, listener[0])

