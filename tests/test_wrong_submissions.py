"""The hidden tests catch the mistakes students really make, only through the tests meant to,
and never fail another correct way to write the solution.

Each entry of ``wrong_submissions.CATALOGUE`` and ``CORRECT_VARIANTS`` is applied to the reference
solution and submitted as one student; the whole batch is autograded with real nbgrader, and each
student must lose exactly the points of the test cells the entry names (none for correct variants),
with no finding of the screening and no verdict refuted by the trusted re-check (grading/verdicts.py).
"""
import pytest

from conftest import ASSIGNMENT, auto_scores, autograded_test_points, graded_notebook, nbgrader, new_course, submit
from grading.rebuild import GRADING_METADATA
from wrong_submissions import CATALOGUE, CORRECT_VARIANTS, RECIPE

SUBMISSIONS = CATALOGUE + CORRECT_VARIANTS


@pytest.fixture(scope="module")
def graded_catalogue(tmp_path_factory, source_nb):
    root = new_course(tmp_path_factory.mktemp("catalogue") / "course")
    for wrong in SUBMISSIONS:
        submit(root, wrong.name, wrong.applied_to(source_nb))
    nbgrader("autograde", ASSIGNMENT, cwd=root, timeout=3600)
    return root


def test_catalogue_covers_every_recipe_requirement():
    assert len(CATALOGUE) >= 12 and len({w.name for w in SUBMISSIONS}) == len(SUBMISSIONS)
    assert all(w.loses for w in CATALOGUE) and not any(w.loses for w in CORRECT_VARIANTS)
    assert {w.violates for w in CATALOGUE} == set(RECIPE), "every requirement a student writes needs a wrong submission"


@pytest.mark.parametrize("wrong", SUBMISSIONS, ids=lambda w: w.name)
def test_wrong_submission_loses_exactly_the_expected_points(graded_catalogue, source_nb, wrong):
    scores = auto_scores(graded_catalogue, wrong.name)
    lost = {gid for gid, points in autograded_test_points(source_nb).items() if scores[gid] < points}
    assert lost == wrong.loses, f"lost {sorted(lost)}, expected {sorted(wrong.loses)}"


@pytest.mark.parametrize("wrong", SUBMISSIONS, ids=lambda w: w.name)
def test_honest_work_needs_no_review_and_the_trusted_recheck_agrees(graded_catalogue, wrong):
    """No finding of the screening, no verdict the trusted re-check refutes, for right and wrong answers alike."""
    record = graded_notebook(graded_catalogue, wrong.name).metadata[GRADING_METADATA]
    assert (record["needs_review"], record["refuted"], record["notes"]) == ([], [], [])
    passed = {gid for gid, verdict in record["trusted"].items() if verdict["passed"]}
    assert not passed & wrong.loses, f"the trusted re-check passed {sorted(passed & wrong.loses)}, which the tests fail"
