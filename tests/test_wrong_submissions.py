"""The hidden tests catch the mistakes students really make, only through the tests meant to.

Each entry of ``wrong_submissions.CATALOGUE`` is applied to the reference solution, turned into what autograde
runs (rebuilt from the source and screened: no note, no finding) and run as the autograder runs it
(tests/notebook_runs.py): it must lose exactly the points of the test cells the entry names (nbgrader's
rule), and grading.recheck, deciding the key verdicts again from the hidden tests' evidence, must refute no
test the kernel passed nor pass one the kernel failed. (Wrong work through the whole sandboxed pipeline, into
the gradebook: bob and tampers_with_tests in tests/test_autograde.py and tests/test_hostile_submissions.py.)
The catalogue's other correct ways to write the solution (``CORRECT_VARIANTS``) lose nothing under 8 seeds:
tests/test_seed_sweep.py.

Validate tells the truth: each entry, and the reference solution, also runs as the student's own notebook
(the visible tests alone, what Validate runs); Validate must fail for at least ``VALIDATE_CATCHES`` of the
catalogue's mistakes, each in a test that loses its points in autograde, and pass the reference; no line of a
visible test's message may be longer than Validate shows. The test prints which visible test caught each mistake.
"""
import pytest

from grading.rebuild import GRADING_METADATA
from helpers.hints import VALIDATE_LINE  # a longer line loses its end, where a message says what to look at
from notebook_runs import as_autograde_runs, as_validate_runs, failed_in_validate, lost, refuted, run_all, trusted_verdicts
from wrong_submissions import CATALOGUE, CORRECT_VARIANTS, RECIPE


@pytest.fixture(scope="module")
def graded_catalogue(tmp_path_factory, source_nb):
    """{name: (what autograde runs, executed notebook, trusted verdicts)} for every catalogue entry."""
    rebuilt = {w.name: as_autograde_runs(w.applied_to(source_nb)) for w in CATALOGUE}
    runs = run_all([(name, nb, 0) for name, nb in rebuilt.items()], tmp_path_factory.mktemp("catalogue"))
    return {name: (rebuilt[name], runs[name][0], trusted_verdicts(runs[name][1])) for name in rebuilt}

VALIDATE_CATCHES = 0.9  # the share of the catalogue's mistakes (each loses points) that Validate must fail


@pytest.fixture(scope="module")
def validated_catalogue(tmp_path_factory, source_nb):
    """{name: {failing visible test: its error}} for every catalogue entry and the reference ("reference")."""
    submissions = {"reference": source_nb, **{w.name: w.applied_to(source_nb) for w in CATALOGUE}}
    runs = run_all([(name, as_validate_runs(nb), 0) for name, nb in submissions.items()],
                   tmp_path_factory.mktemp("validate"))
    return {name: failed_in_validate(runs[name][0]) for name in submissions}


def test_catalogue_covers_every_recipe_requirement():
    submissions = CATALOGUE + CORRECT_VARIANTS
    assert len(CATALOGUE) >= 12 and len({w.name for w in submissions}) == len(submissions)
    assert all(w.loses for w in CATALOGUE) and not any(w.loses for w in CORRECT_VARIANTS)
    assert {w.violates for w in CATALOGUE} == set(RECIPE), "every requirement a student writes needs a wrong submission"


@pytest.mark.slow
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_wrong_submission_loses_exactly_the_expected_points(graded_catalogue, wrong):
    why = lost(graded_catalogue[wrong.name][1])
    assert set(why) == wrong.loses, f"lost {why}, expected {sorted(wrong.loses)}"


@pytest.mark.slow
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_honest_mistakes_need_no_review_and_the_trusted_recheck_agrees(graded_catalogue, wrong):
    """No note of the rebuild, no finding of the screening, no verdict the trusted re-check refutes, and no
    test it passes that the kernel failed."""
    rebuilt, nb, verdicts = graded_catalogue[wrong.name]
    record = rebuilt.metadata[GRADING_METADATA]
    assert (record["notes"], record["needs_review"]) == ([], [])
    assert refuted(nb, verdicts) == {}
    passed = {gid for gid, verdict in verdicts.items() if verdict["passed"]}
    assert not passed & wrong.loses, f"the trusted re-check passed {sorted(passed & wrong.loses)}, which the tests fail"


@pytest.mark.slow
def test_validate_fails_for_the_mistakes_that_lose_points(validated_catalogue):
    """Validate fails for at least 90% of the catalogue's mistakes, each in a test that the hidden tests take its
    points in, passes the reference, and shows each visible test's message whole; prints the table."""
    assert validated_catalogue["reference"] == {}, f"Validate fails the reference solution: {validated_catalogue['reference']}"
    width = max(len(w.name) for w in CATALOGUE)
    print(f"\n{'mistake':{width}}  visible tests that fail in Validate")
    for wrong in CATALOGUE:
        print(f"{wrong.name:{width}}  {', '.join(sorted(validated_catalogue[wrong.name])) or 'none'}")
    cut = {(name, line) for name, failed in validated_catalogue.items() for error in failed.values()
           if error.startswith("AssertionError") for line in error.splitlines() if len(line) > VALIDATE_LINE}
    assert not cut, f"Validate shows these lines of the visible tests' messages cut short: {sorted(cut)}"
    elsewhere = {w.name: sorted(validated_catalogue[w.name]) for w in CATALOGUE
                 if validated_catalogue[w.name] and not set(validated_catalogue[w.name]) & w.loses}
    assert not elsewhere, f"Validate fails these mistakes only in tests that do not punish them: {elsewhere}"
    missed = [w.name for w in CATALOGUE if not validated_catalogue[w.name]]
    caught = 1 - len(missed) / len(CATALOGUE)
    print(f"Validate fails for {len(CATALOGUE) - len(missed)} of {len(CATALOGUE)} mistakes ({caught:.0%})")
    assert caught >= VALIDATE_CATCHES, f"Validate passes {missed}, which lose points in the hidden tests"
