"""Shared paths and fixtures for the course's tests.

``course_copy`` builds a scratch nbgrader course (config, source/, release/) in a temp folder,
so tests can run nbgrader for real without touching the repository's gradebook or folders.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "gan_mnist"
SOURCE_NB = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE_NB = REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
VENV_BIN = Path(sys.executable).parent


def nbgrader(*args, cwd, check=True, timeout=600):
    """Run the nbgrader CLI in ``cwd`` (a course root) with this venv's programs first on PATH."""
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def nbgrader_cells(nb):
    """{grade_id: cell} for every cell with nbgrader metadata."""
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def autograded_points(nb):
    """Total points of the autograder test cells (manually graded answers excluded)."""
    return sum(c.metadata.nbgrader["points"] for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution"))


@pytest.fixture(scope="session")
def source_nb():
    return nbformat.read(SOURCE_NB, as_version=4)


@pytest.fixture(scope="session")
def release_nb():
    return nbformat.read(RELEASE_NB, as_version=4)


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
