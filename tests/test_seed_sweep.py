"""Every correct solution gets every point under 11 seeds, as autograde runs it, and the trusted re-check agrees.

The reference solution and the catalogue's other correct ways to write it (``wrong_submissions.CORRECT_VARIANTS``,
in two notebooks: variants that change the same lines cannot share one) are each turned into what autograde
runs (rebuilt from the source and screened in-process, grading/rebuild.py: no note, no finding), then run as
the autograder runs them (NBGRADER_EXECUTION=autograde, the short profile, on the CPU, the hidden tests saving
their evidence) with GAN_SEED 0 to 10, which moves every random draw: initial weights, the data order, the
noise, and the seeded runs inside the hidden tests. No cell may fail, and grading.recheck, deciding the key
verdicts again from the evidence, must refute none.

Each notebook's 11 runs share one kernel (its imports paid once; ``%reset`` and a folder of its own before
each run); the three kernels run side by side, one PyTorch thread each.
"""
import copy
import os
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from traitlets.config import PyFileConfigLoader

from conftest import ASSIGNMENT, REPO, SOURCE_NB
from grading import recheck, reference
from grading.rebuild import GRADING_METADATA, RebuildFromSource, ScreenStudentCode
from wrong_submissions import CORRECT_VARIANTS

SEEDS = range(11)
NOTEBOOKS = {
    "reference": [],
    "variants_a": ["transform_with_lambda", "functional_generator", "d_loss_as_the_mean", "fresh_generator_pass_in_g_step",
                   "targets_from_ones_like", "grid_min_max_normalised"],
    "variants_b": ["generator_that_warns", "one_concatenated_d_batch"],
}
BEFORE_EACH_RUN = "%reset -f\nimport os\nos.environ.update(GAN_SEED={seed!r}, GAN_EVIDENCE_DIR={evidence!r})\nos.chdir({folder!r})"


def as_autograde_runs(submission):
    """The notebook autograde runs for ``submission``: the source notebook with its answers put in, screened."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    resources = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT}}
    nb, _ = RebuildFromSource(config=config).preprocess(submission, resources)
    return ScreenStudentCode(config=config).preprocess(nb, resources)[0]


def run_every_seed(nb, folder):
    """{seed: (executed notebook, evidence folder)}: ``nb`` run once per seed in one kernel."""
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    folder.mkdir()
    runs = {}
    with client.setup_kernel(env=env):
        for seed in SEEDS:
            run = folder / f"seed-{seed}"
            (run / "evidence").mkdir(parents=True)
            client.nb = copy.deepcopy(nb)
            client.execute_cell(new_code_cell(BEFORE_EACH_RUN.format(seed=str(seed), evidence=str(run / "evidence"),
                                                                     folder=str(run))), 0)
            for index, cell in enumerate(client.nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            runs[seed] = (client.nb, run / "evidence")
    return runs


@pytest.fixture(scope="module")
def graded(tmp_path_factory, source_nb):
    """{notebook: (what autograde runs, {seed: (executed notebook, evidence folder)})}."""
    base = tmp_path_factory.mktemp("seeds")
    rebuilt = {}
    for name, variants in NOTEBOOKS.items():
        nb = copy.deepcopy(source_nb)
        for variant in variants:
            nb = next(v for v in CORRECT_VARIANTS if v.name == variant).applied_to(nb)
        rebuilt[name] = as_autograde_runs(nb)
    with ThreadPoolExecutor(len(NOTEBOOKS)) as kernels:
        runs = kernels.map(lambda name: run_every_seed(rebuilt[name], base / name), NOTEBOOKS)
        return {name: (rebuilt[name], seeds) for name, seeds in zip(NOTEBOOKS, runs)}


def test_every_correct_variant_is_in_a_notebook():
    assert sorted(sum(NOTEBOOKS.values(), [])) == sorted(v.name for v in CORRECT_VARIANTS)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_correct_solutions_need_no_review(graded, notebook):
    record = graded[notebook][0].metadata[GRADING_METADATA]
    assert (record["notes"], record["needs_review"]) == ([], [])


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_correct_solutions_pass_every_test_and_the_recheck(graded, notebook, seed):
    nb, evidence = graded[notebook][1][seed]
    errors = {cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}"): output.evalue
              for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"}
    assert not errors, f"seed {seed}: {errors}"
    refuted = {gid: v["message"] for gid, v in recheck.verdicts(evidence, reference.load(SOURCE_NB)).items() if not v["passed"]}
    assert not refuted, f"seed {seed}: {refuted}"
