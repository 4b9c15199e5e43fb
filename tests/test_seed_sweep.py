"""Every correct solution gets every point under 8 seeds, as autograde runs it, and the trusted re-check agrees.

The reference solution and the catalogue's other correct ways to write it (``wrong_submissions.CORRECT_VARIANTS``,
in three notebooks: variants that change the same lines cannot share one) are each turned into what autograde
runs (rebuilt from the source and screened: no note, no finding), then run as the autograder runs them
(tests/notebook_runs.py) with GAN_SEED 0 to 7, which moves every random draw: initial weights, the data
order, the noise, and the seeded runs inside the hidden tests. Every test cell must score its points by
nbgrader's rule, and grading.recheck, deciding the key verdicts again from the evidence, must refute none.
"""
import copy

import pytest

from grading.rebuild import GRADING_METADATA
from notebook_runs import as_autograde_runs, lost, run_all, trusted_verdicts
from wrong_submissions import CORRECT_VARIANTS

SEEDS = range(8)
NOTEBOOKS = {
    "reference": [],
    "variants_a": ["transform_with_lambda", "functional_generator", "d_loss_as_the_mean", "fresh_generator_pass_in_g_step",
                   "targets_from_ones_like", "grid_min_max_normalised"],
    "variants_b": ["generator_that_warns", "one_concatenated_d_batch"],
}


@pytest.fixture(scope="module")
def rebuilt(source_nb):
    """{notebook: what autograde runs for it}."""
    notebooks = {}
    for name, variants in NOTEBOOKS.items():
        nb = copy.deepcopy(source_nb)
        for variant in variants:
            nb = next(v for v in CORRECT_VARIANTS if v.name == variant).applied_to(nb)
        notebooks[name] = as_autograde_runs(nb)
    return notebooks


@pytest.fixture(scope="module")
def runs(tmp_path_factory, rebuilt):
    """{(notebook, seed): (executed notebook, evidence folder)}."""
    jobs = [(f"{name}-{seed}", rebuilt[name], seed) for seed in SEEDS for name in NOTEBOOKS]
    done = run_all(jobs, tmp_path_factory.mktemp("seeds"))
    return {(name, seed): done[f"{name}-{seed}"] for seed in SEEDS for name in NOTEBOOKS}


def test_every_correct_variant_is_in_a_notebook():
    assert sorted(sum(NOTEBOOKS.values(), [])) == sorted(v.name for v in CORRECT_VARIANTS)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_correct_solutions_need_no_review(rebuilt, notebook):
    record = rebuilt[notebook].metadata[GRADING_METADATA]
    assert (record["notes"], record["needs_review"]) == ([], [])


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_correct_solutions_get_every_point_and_the_recheck_agrees(runs, notebook, seed):
    nb, evidence = runs[(notebook, seed)]
    assert lost(nb) == {}, f"seed {seed}"
    refuted = {gid: v["message"] for gid, v in trusted_verdicts(evidence).items() if not v["passed"]}
    assert not refuted, f"seed {seed}: {refuted}"
