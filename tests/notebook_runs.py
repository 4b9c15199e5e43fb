"""Submissions run as autograde runs them, without the sandbox: for the tests of the hidden tests themselves
(the wrong-submission catalogue, the seed sweep), many runs at a time.

``as_autograde_runs`` rebuilds a submission from the source notebook and screens it in-process, with the
course's own sanitize steps (grading/rebuild.py); ``as_validate_runs`` is the student's own notebook, what
Validate runs (the visible tests only); ``run_all`` executes such notebooks with
NBGRADER_EXECUTION=autograde (the short profile, on the CPU, the hidden tests saving their evidence),
``LANES`` kernels side by side on one PyTorch thread each, every kernel running its share one after the
other (imports paid once; ``%reset``, a working folder and an evidence folder of its own before each run);
``lost`` scores the executed test cells with nbgrader's own rule, ``failed_in_validate`` names those Validate
reports; ``refuted`` compares them with
grading.recheck's verdicts as grading/verdicts.py does.
"""
import copy
import os
from concurrent.futures import ThreadPoolExecutor

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import determine_grade
from traitlets.config import PyFileConfigLoader

from conftest import ASSIGNMENT, REPO, SOURCE_NB
from graded_class import LANES
from grading import recheck, reference
from grading.rebuild import RebuildFromSource, ScreenStudentCode
from grading.sandbox import GRADING_ENV

CONFIG = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
SOLUTION = reference.load(SOURCE_NB)
BEFORE_EACH_RUN = "%reset -f\nimport os\nos.environ.update(GAN_SEED={seed!r}, GAN_EVIDENCE_DIR={evidence!r})\nos.chdir({folder!r})"


def as_autograde_runs(submission):
    """The notebook autograde runs for ``submission``: the source notebook with its answers put in, screened."""
    resources = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT}}
    nb, _ = RebuildFromSource(config=CONFIG).preprocess(copy.deepcopy(submission), resources)
    return ScreenStudentCode(config=CONFIG).preprocess(nb, resources)[0]


def as_validate_runs(submission):
    """The notebook Validate runs for ``submission``: the student's notebook, without the hidden tests."""
    return ClearHiddenTests().preprocess(copy.deepcopy(submission), {})[0]


def _run_in_one_kernel(jobs, base):
    """{name: (executed notebook, evidence folder)} for ``jobs`` [(name, notebook, seed)], one after the other."""
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", **GRADING_ENV}
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=300, iopub_timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(base)}})
    runs = {}
    with client.setup_kernel(env=env):
        for name, nb, seed in jobs:
            folder = base / name
            (folder / "evidence").mkdir(parents=True)
            client.nb = copy.deepcopy(nb)
            client.execute_cell(new_code_cell(BEFORE_EACH_RUN.format(seed=str(seed), evidence=str(folder / "evidence"),
                                                                     folder=str(folder))), 0)
            for index, cell in enumerate(client.nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            runs[name] = (client.nb, folder / "evidence")
    return runs


def run_all(jobs, base):
    """{name: (executed notebook, evidence folder)} for ``jobs`` [(name, notebook, seed)], LANES kernels at a time."""
    runs = {}
    with ThreadPoolExecutor(LANES) as lanes:
        for done in lanes.map(lambda lane: _run_in_one_kernel(jobs[lane::LANES], base), range(LANES)):
            runs.update(done)
    return runs


def lost(nb):
    """{test grade_id: why} of the autograded test cells that score less than their points (nbgrader's rule)."""
    why = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata.nbgrader.get("solution"):
            score, points = determine_grade(cell)
            if score < points:
                why[cell.metadata.nbgrader["grade_id"]] = next(
                    (o.get("evalue") or o.get("text", "") for o in cell.outputs if o.output_type in ("error", "stream")), "")
    return why


def failed_in_validate(nb):
    """{test grade_id: its error, as the traceback's last lines show it} of the test cells that fail in ``nb``, an
    executed notebook, but the 0-point reminder that results/ holds a full run (no short run makes one)."""
    return {cell.metadata.nbgrader["grade_id"]: f"{error.ename}: {error.evalue}"
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("points")
            for error in cell.get("outputs", []) if error.output_type == "error"}


def trusted_verdicts(evidence):
    """grading.recheck's verdicts from a run's evidence, against the solution in the source notebook."""
    return recheck.verdicts(evidence, SOLUTION)


def refuted(nb, verdicts):
    """The tests that passed in the kernel and the trusted re-check refutes (what grading/verdicts.py scores 0)."""
    failed = lost(nb)
    return {gid: v["message"] for gid, v in verdicts.items() if gid not in failed and v["passed"] is False}
