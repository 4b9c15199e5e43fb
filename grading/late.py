"""Late submissions: a configurable penalty for nbgrader's ``AssignLatePenalties`` step, and the report's words.

nbgrader compares the submission's ``timestamp.txt`` (written by the exchange's submit, or by ``zip_collect``
when the LMS gives a time) with the assignment's due date in the gradebook (``nbgrader db assignment add gan_mnist
--duedate="2026-12-01 23:59 Europe/Berlin"``, or formgrader's "Manage Assignments"), less any extension granted
(``Gradebook.grant_extension``). ``LatePenalty`` then takes ``percent_per_day`` of the notebook's autograded
score for each started day late after ``grace_minutes`` (``nbgrader_config.py``); nbgrader keeps the penalty
beside the score, ``nbgrader export`` and ``make lms-export`` subtract it. Points given by hand later are not
penalised (nbgrader computes the penalty once, at autograde).
"""
import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class LatePenalty(LateSubmissionPlugin):
    """``percent_per_day`` of the autograded score per started day late, after ``grace_minutes``."""

    percent_per_day = Float(10.0, help="Percent of the score taken off per started day late").tag(config=True)
    grace_minutes = Float(15.0, help="Minutes after the due date that do not count as late").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        late = total_seconds_late - 60 * self.grace_minutes
        if late <= 0:
            return 0.0
        return min(score, round(score * self.percent_per_day / 100 * math.ceil(late / 86400), 2))


def how_late(seconds: float) -> str:
    """``seconds`` in words: "1 day 2 h 5 min", "40 s"."""
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes or not (days or hours) else ""]
    return " ".join(p for p in parts if p)
