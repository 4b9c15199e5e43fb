"""Every correct solution gets every point under 8 seeds, as autograde runs it, and the trusted re-check agrees.

The reference solution and the catalogue's other correct ways to write it (``wrong_submissions.CORRECT_VARIANTS``,
in three notebooks: variants that change the same lines cannot share one) are each turned into what autograde
runs (rebuilt from the source and screened: no note, no finding), then run as the autograder runs them
(tests/notebook_runs.py) with GAN_SEED 0 to 7, which moves every random draw: initial weights, the data
order, the noise, and the seeded runs inside the hidden tests. Every test cell must score its points by
nbgrader's rule, and grading.recheck, deciding the key verdicts again from the evidence, must refute none.

Each seed also makes a run of its own in the student's notebook (the reference as Validate runs it): its fixed
noise, the order of its first training batch and its losses per epoch are the same for one seed twice, bit for
bit, and differ from another seed's (the visible tests that reseed put back the random state they found).
"""
import copy
import json

import nbformat
import pytest

from grading.rebuild import GRADING_METADATA
from notebook_runs import as_autograde_runs, as_validate_runs, lost, run_all, trusted_verdicts
from wrong_submissions import CORRECT_VARIANTS

SEEDS = range(8)
NOTEBOOKS = {
    "reference": [],
    "variants_a": ["transform_with_lambda", "functional_generator", "d_loss_as_the_mean", "fresh_generator_pass_in_g_step",
                   "targets_from_ones_like", "grid_min_max_normalised"],
    "variants_b": ["generator_that_warns", "one_concatenated_d_batch"],
}
# Around the training cell of the student's notebook: the random state it starts from, then what the run drew from it (its
# fixed noise and, replayed from that state, the order of its first batch) and the losses it got.
BEFORE_THE_RUN = "_state_at_the_run = torch.get_rng_state()"
AFTER_THE_RUN = """import hashlib, json
_now = torch.get_rng_state()
torch.set_rng_state(_state_at_the_run)
_replayed_noise = torch.randn(64, NOISE_DIM, device=device)
_first_batch_labels = next(iter(train_loader))[1]
torch.set_rng_state(_now)
print(json.dumps({"fixed_noise": hashlib.sha256(fixed_noise.cpu().numpy().tobytes()).hexdigest(),
                  "replayed": torch.equal(_replayed_noise, fixed_noise), "first_batch": _first_batch_labels.tolist(),
                  "history": history}))"""


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


def what_the_run_drew(nb):
    """The run's fixed noise (a hash), first batch's labels and losses, as AFTER_THE_RUN printed them."""
    cell = next(c for c in nb.cells if c.source == AFTER_THE_RUN)
    drawn = json.loads("".join(o.get("text", "") for o in cell.outputs))
    assert drawn["replayed"], "the fixed noise is not the first draw of the training cell: the replay is wrong"
    return drawn


@pytest.mark.slow
def test_each_seed_makes_a_run_of_its_own_and_repeats_it(source_nb, tmp_path):
    nb = as_validate_runs(source_nb)
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "run_training")
    nb.cells[at:at + 1] = [nbformat.v4.new_code_cell(BEFORE_THE_RUN), nb.cells[at], nbformat.v4.new_code_cell(AFTER_THE_RUN)]
    done = run_all([("seed-0", nb, 0), ("seed-0-again", nb, 0), ("seed-1", nb, 1)], tmp_path)
    first, again, other = (what_the_run_drew(done[name][0]) for name in ["seed-0", "seed-0-again", "seed-1"])
    assert first == again, "seed 0 twice: not the same run"
    assert first["fixed_noise"] != other["fixed_noise"], "seeds 0 and 1 draw the same fixed noise"
    assert first["first_batch"] != other["first_batch"], "seeds 0 and 1 train on the same first batch"
    assert first["history"] != other["history"]
