"""Late and odd submissions (graded class, section ``deadlines``): a clear line in the report, nothing lost."""
import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, points
from grading.late import LatePenalty, how_late
from test_demo_class import PARTIAL_PASSES

pytestmark = pytest.mark.slow


def submission(graded_class, student):
    with Gradebook(f"sqlite:///{graded_class.root(student) / 'gradebook.db'}") as gb:
        found = gb.find_submission(ASSIGNMENT, student)
        return found.total_seconds_late, found.late_submission_penalty, found.code_score


def test_within_the_grace_period_is_not_late(graded_class, source_nb):
    seconds_late, penalty, score = submission(graded_class, "on_time")
    assert seconds_late == 600 and not penalty and score == points(source_nb, PARTIAL_PASSES)
    assert graded_class.report["on_time"]["message"] == "submitted 10 min after the due date: late penalty 0 points"


def test_a_late_submission_loses_the_configured_share(graded_class, source_nb):
    """26 hours late, 15 minutes' grace, 10% a started day: 20% of the autograded points."""
    full = points(source_nb, PARTIAL_PASSES)
    seconds_late, penalty, score = submission(graded_class, "late")
    assert seconds_late == 26 * 3600 and score == full and penalty == pytest.approx(0.2 * full)
    assert graded_class.report["late"]["message"] == (
        f"submitted 1 day 2 h after the due date: late penalty {0.2 * full:g} points")


@pytest.mark.parametrize("student, message, kept", [
    ("renamed_the_notebook", "no gan_mnist.ipynb: the submission holds GAN final.ipynb (renamed?); not graded, "
                             "rename it in submitted/renamed_the_notebook/gan_mnist/", "GAN final.ipynb"),
    ("submitted_nothing", "the submission is empty (no files): not graded", None)])
def test_a_submission_without_the_notebook_is_reported_and_kept(graded_class, student, message, kept):
    row = graded_class.report[student]
    assert row["status"] == "failed" and row["message"].startswith(message), row
    folder = graded_class.root(student) / "submitted" / student / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ([kept] if kept else [])


def test_late_penalty_rule():
    rule = LatePenalty(percent_per_day=10, grace_minutes=15)
    assert rule.late_submission_penalty("s", 20.0, 14 * 60) == 0
    assert rule.late_submission_penalty("s", 20.0, 16 * 60) == 2.0
    assert rule.late_submission_penalty("s", 20.0, 86400 + 16 * 60) == 4.0
    assert rule.late_submission_penalty("s", 20.0, 30 * 86400) == 20.0  # never more than the score
    assert how_late(26 * 3600) == "1 day 2 h" and how_late(59) == "59 s" and how_late(2 * 86400 + 60) == "2 days 1 min"
