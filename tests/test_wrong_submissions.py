"""The hidden tests catch the mistakes students really make, only through the tests meant to.

Each entry of ``wrong_submissions.CATALOGUE`` is applied to the reference solution and submitted as one
student of the graded class (tests/graded_class.py), autograded with real nbgrader in the sandbox; each
student must lose exactly the points of the test cells the entry names, with no finding of the screening and
no verdict refuted by the trusted re-check (grading/verdicts.py). The catalogue's other correct ways to write
the solution (``CORRECT_VARIANTS``) lose nothing under 11 seeds: tests/test_seed_sweep.py.
"""
import pytest

from grading.rebuild import GRADING_METADATA
from wrong_submissions import CATALOGUE, CORRECT_VARIANTS, RECIPE


def test_catalogue_covers_every_recipe_requirement():
    submissions = CATALOGUE + CORRECT_VARIANTS
    assert len(CATALOGUE) >= 12 and len({w.name for w in submissions}) == len(submissions)
    assert all(w.loses for w in CATALOGUE) and not any(w.loses for w in CORRECT_VARIANTS)
    assert {w.violates for w in CATALOGUE} == set(RECIPE), "every requirement a student writes needs a wrong submission"


@pytest.mark.slow
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_wrong_submission_loses_exactly_the_expected_points(graded_class, source_nb, wrong):
    lost = graded_class.lost(wrong.name, source_nb)
    assert lost == wrong.loses, f"lost {sorted(lost)}, expected {sorted(wrong.loses)}"


@pytest.mark.slow
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_honest_mistakes_need_no_review_and_the_trusted_recheck_agrees(graded_class, wrong):
    """No finding of the screening, no verdict the trusted re-check refutes, and no test it passes that the kernel failed."""
    record = graded_class.notebook(wrong.name).metadata[GRADING_METADATA]
    assert (record["needs_review"], record["refuted"], record["notes"]) == ([], [], [])
    passed = {gid for gid, verdict in record["trusted"].items() if verdict["passed"]}
    assert not passed & wrong.loses, f"the trusted re-check passed {sorted(passed & wrong.loses)}, which the tests fail"
