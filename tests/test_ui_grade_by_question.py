"""Two TAs grade Task 1 of a class of 40 question by question, by keyboard only (grading/by_question/).

The class (tests/written_answers.py) has duplicates and near-duplicates, unanswered and deleted answer cells,
and mallory's answer with script and a 5 MB image. Two graders, each in a browser context of their own, take
turns on the same question of one course server (`jupyter lab` with formgrader and the page). Then: every
manual score and comment in nbgrader's gradebook, an item re-weighted on the page and every affected score,
`nbgrader export` and the LMS export.
"""
import csv
import subprocess

import pytest

from browser import JupyterServer, Steps, chromium
from conftest import ASSIGNMENT, VENV_BIN
from grading.by_question.answers import seed_items
from written_answers import (CARD, HOSTILE, READY, grade_by_keyboard, grade_ids, open_question, scores,
                             written_class)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

XSS = "() => [window, ...[...document.querySelectorAll('iframe')].map(f => f.contentWindow)].map(w => w.__xss ?? null)"
HOSTILE_IMAGE = "() => [...document.querySelectorAll('#answer img')].map(img => img.naturalWidth)"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root, expected, unanswered = written_class(tmp_path_factory.mktemp("written") / "course", 40)
    server = JupyterServer(root, tmp_path_factory.mktemp("home"))
    yield root, expected, unanswered, server
    server.stop()


def seek(page, wanted, limit=80):
    """Move with the arrow key to the next card whose first answer is one of ``wanted``; that card's state."""
    for _ in range(limit):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(READY, timeout=30_000)
        card = page.evaluate(CARD)
        if card["shown"] in wanted:
            return card
    raise AssertionError(f"none of {sorted(wanted)} found among the cards")


def test_two_graders_grade_a_question_by_keyboard(course):
    root, expected, unanswered, server = course
    students = grade_ids(root)
    answer_of = {student: gid for gid, student in students.items()}
    items = [text for text, _ in seed_items(
        "### BEGIN MARK SCHEME\n" + "\n".join(f"{n}. x" for n in range(1, 5)) + "\n### END MARK SCHEME", 4)]
    with chromium() as browser:
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2))
        steps = Steps(first, "grade-by-question")
        with steps("both graders open Task 1: names hidden, the rubric seeded from the mark scheme"):
            for page in (first, second):
                open_question(page, server.url)
            title = first.inner_text("#card-title")
            assert not any(student in title for student in expected), title
            assert len(items) == 4 and first.locator("#items li").count() == 4
            assert first.inner_text("#items li:first-child .key") == "1"
            assert first.inner_text("#items li:first-child .text").startswith("Q1: ")
            graders = {page.inner_text("#grader") for page in (first, second)}
            assert len(graders) == 2, graders
        with steps("they grade every answer by keyboard, taking turns"):
            cards = grade_by_keyboard([first, second], expected, students)
            keys = sum(k for *_, k in cards)
            assert len(cards) < len(expected), f"{len(cards)} cards for {len(expected)} answers: nothing grouped"
            assert first.inner_text("#progress") == f"{len(expected)} of {len(expected)} graded"
            print(f"{len(cards)} cards, {keys / len(expected):.2f} keys per answer")
        with steps("nbgrader's gradebook holds every score and comment"):
            graded = scores(root)
            for student, right in expected.items():
                score, comment = graded[student]
                assert score == len(right), (student, score, sorted(right))
                for q in range(1, 5):
                    assert (f"- Q{q}: " in (comment or "")) == (q in right), (student, comment)
        with steps("mallory's answer: no script ran, her image is shown"):
            for page in (first, second):
                assert page.evaluate(XSS) == [None], page.evaluate(XSS)
            seek(first, {answer_of[HOSTILE]})
            assert first.evaluate(XSS) == [None]
            assert max(first.evaluate(HOSTILE_IMAGE)) > 1000  # her 5 MB grid (her <img src=x> shows nothing)
            assert "<script" not in first.inner_html("#answer") and "onerror" not in first.inner_html("#answer")
        with steps("a deleted answer cell shows as unanswered, in the group of the untouched ones"):
            seek(first, {answer_of[student] for student in unanswered})
            assert "(unanswered)" in first.inner_text("#answer")
            assert f"answer {answer_of['deleted_the_cell'][:6]}" in first.inner_text("#members")
        with steps("the second grader sees who graded an answer"):
            seek(second, {shown for grader, shown, *_ in cards if grader == 0})
            first_grader = first.inner_text("#grader")[len("grading as "):]
            assert second.inner_text("#notice").startswith(f"Graded by {first_grader}"), second.inner_text("#notice")
        with steps("Q3 re-weighted to 0.5 on the page: every answer with it is scored again"):
            first.click("#edit summary")
            row = first.locator("#edit-items li").nth(2)
            row.locator("input[type=number]").fill("0.5")
            row.locator("button", has_text="Save").click()
            first.wait_for_function("() => document.getElementById('notice').textContent.startsWith('Rubric saved')")
            graded = scores(root)
            for student, right in expected.items():
                assert graded[student][0] == len(right) - (0.5 if 3 in right else 0), (student, graded[student])
                assert ("(+0.5)" in (graded[student][1] or "")) == (3 in right)
    export = subprocess.run([str(VENV_BIN / "nbgrader"), "export"], cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert export.returncode == 0, export.stderr[-2000:]
    with open(root / "grades.csv") as f:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)
                    if row["assignment"] == ASSIGNMENT}
    lms = subprocess.run([str(VENV_BIN / "nbgrader"), "export", "--exporter=grading.lms.LmsExport",
                          "--to=grades-lms.csv"], cwd=root, capture_output=True, text=True, timeout=300)
    assert lms.returncode == 0, lms.stderr[-2000:]
    with open(root / "grades-lms.csv") as f:
        totals = {row["student_id"]: float(row["total"]) for row in csv.DictReader(f)}
    for student, right in expected.items():
        assert exported[student] == totals[student] == graded[student][0], (student, exported[student], totals[student])
