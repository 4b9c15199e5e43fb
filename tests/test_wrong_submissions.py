"""The hidden tests catch the mistakes students really make, only through the tests meant to,
and never fail another correct way to write the solution.

Each entry of ``wrong_submissions.CATALOGUE`` and ``CORRECT_VARIANTS`` is applied to the reference
solution and submitted as one student; the whole batch is autograded with real nbgrader, and each
student must lose exactly the points of the test cells the entry names (none for correct variants).
"""
import pytest

from conftest import ASSIGNMENT, auto_scores, autograded_test_points, nbgrader, new_course, submit
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
