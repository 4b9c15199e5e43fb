"""A synthetic class's written answers to Task 1, for the grade-by-question page's test and benchmark.

``written_class(root, count)`` makes a scratch course (conftest.new_course) whose gradebook holds ``count``
submissions, as autograde leaves them for the written answers: each student's autograded notebook (the release
with their Task 1 answer in it) and nbgrader's rows for it (``Gradebook.add_submission``). Each answer is made
of one sentence per question of Task 1 (one of several right phrasings, one of several wrong ones, or none),
so the items it deserves are known: ``EXPECTED[student]``, the question numbers it answers right. About half
the class writes a common answer (copied exactly, with other spacing or case, or with a typo: the
near-duplicates), the rest answers of their own; some leave the cell as it was, one deleted it, and one
(``HOSTILE``) answers with script and a 5 MB image.

``grade_by_keyboard(pages, expected, students)`` has the open pages' graders take turns, each grading a card
as a TA does (the keys that make its items the right ones, then Enter) until every answer is graded; it returns
each card graded, with the keys pressed.
"""
import base64
import io
import json
import random
import re
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, new_course

CELL = "task1_answer"
HOSTILE = "mallory"
RIGHT = {
    1: ["The real image costs about 0.47 and the fake about 4.6: the confident mistake on the fake costs ten times more.",
        "-(0.9 ln 0.99 + 0.1 ln 0.01) = 0.47 for the real one, -ln 0.01 = 4.6 for the fake, so fakes called real dominate D's gradient.",
        "0.47 against 4.6; with label smoothing even a perfect real answer is penalised and the fake mistake weighs ten times more."],
    2: ["ReLU has zero gradient for negative inputs, so dead units in D would block the only signal G gets.",
        "G learns only through D's gradient; a dead ReLU unit in D stops it, LeakyReLU keeps a slope of 0.2.",
        "Dead ReLUs pass no gradient back, and G's whole signal comes back through D; the leak keeps it flowing."],
    3: ["1,486,352 parameters; a much stronger D wins early, saturates and starves G of gradient.",
        "About 1.49 million weights. A bigger D would reject every fake at once and G would get no useful gradient.",
        "1486352 in total: making D larger upsets the balance, D(G(z)) goes to 0 and G stops learning."],
    4: ["A fully connected net ignores the spatial layout: neighbouring pixels are like any other pair, hence speckle.",
        "It has no locality or translation invariance, which is why my grid shows isolated noisy pixels and broken strokes.",
        "Pixels are flattened, so nearby pixels mean nothing special to it: digits look right overall but noisy locally."],
}
WRONG = {
    1: ["Both losses are small because the discriminator is almost right on both images.",
        "The loss is the same for both, about 0.1, since the outputs are close to their targets."],
    2: ["LeakyReLU is faster to compute than ReLU on a GPU.", "ReLU would make the images darker."],
    3: ["It has 784 parameters, one per pixel.", "Doubling the layers always makes the GAN better."],
    4: ["Nothing is lost, a linear layer sees all the pixels.", "The images are too small for a network to matter."],
}


def answer_text(choices, rng):
    """The answer for {question: True (right) / False (wrong)}; a question not in ``choices`` is left out."""
    lines = []
    for question in sorted(choices):
        pool = RIGHT[question] if choices[question] else WRONG[question]
        lines.append(f"{question}. {rng.choice(pool)}")
    return "\n".join(lines)


def near_copy(text, kind):
    """A copy as students make them: other spacing, other case, or a typo."""
    if kind == "spacing":
        return re.sub(" ", "  ", text, count=3) + "\n"
    if kind == "case":
        return text.lower()
    return text.replace("the", "teh", 1) if "the" in text else text + "."


def big_image(megabytes=5):
    """A PNG of random pixels of about ``megabytes`` (it does not compress)."""
    from PIL import Image

    side = int((megabytes * 2 ** 20 / 3) ** 0.5)
    raw = random.Random(1).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), raw).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def hostile_answer():
    return ("1. <script>window.__xss = 'script'</script> <img src=x onerror=\"window.__xss = 'onerror'\">\n"
            f"<a href=\"javascript:window.__xss = 'link'\">my answer</a>\n\n![my grid](data:image/png;base64,{big_image()})\n")


def class_answers(count, seed=0):
    """{student: (answer text or None for a deleted cell, the right questions' numbers)}."""
    rng = random.Random(seed)
    common = []
    for _ in range(max(count // 12, 2)):
        choices = {q: rng.random() < 0.6 for q in RIGHT if rng.random() < 0.9}
        common.append((answer_text(choices, rng), frozenset(q for q, right in choices.items() if right)))
    answers = {}
    for n in range(count - 2):
        student = f"student{n:03d}"
        roll = rng.random()
        if roll < 0.06:
            answers[student] = ("YOUR ANSWER HERE", frozenset())
        elif roll < 0.5:
            text, right = rng.choice(common)
            kind = rng.choice(["exact", "exact", "spacing", "case", "typo"])
            answers[student] = (text if kind == "exact" else near_copy(text, kind), right)
        else:
            choices = {q: rng.random() < 0.6 for q in RIGHT if rng.random() < 0.9}
            answers[student] = (answer_text(choices, rng), frozenset(q for q, right in choices.items() if right))
    answers["deleted_the_cell"] = (None, frozenset())
    answers[HOSTILE] = (hostile_answer(), frozenset())
    return answers


def written_class(root, count, seed=0):
    """The course (see the module's docstring), {student: the question numbers answered right} and the students
    who left the answer as it was or deleted it."""
    root = new_course(Path(root))
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = class_answers(count, seed)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, (text, _) in answers.items():
            nb = nbformat.from_dict(json.loads(json.dumps(release)))
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == CELL)
            if text is None:
                nb.cells.remove(cell)
            else:
                cell.source = text
            folder = root / "autograded" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
    return (root, {student: right for student, (_, right) in answers.items()},
            {student for student, (text, _) in answers.items() if text in (None, "YOUR ANSWER HERE")})


def grade_ids(root, cell=CELL):
    """{nbgrader Grade id of the student's answer (Task 1's): student}."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, s.id).id: s.id for s in gb.students}


def scores(root, cell=CELL):
    """{student: (the answer's (Task 1's) manual score, its comment)} in nbgrader's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.id: (gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, s.id).manual_score,
                       gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, s.id).manual_comment) for s in gb.students}


READY = """() => !document.getElementById('saving').textContent && document.getElementById('answer').dataset.answer"""
CARD = """() => ({shown: document.getElementById('answer').dataset.answer,
  notice: document.getElementById('notice').textContent,
  given: [...document.querySelectorAll('#items li')].map((li, i) => li.classList.contains('given') ? i + 1 : 0).filter(Boolean),
  members: document.querySelectorAll('#members li').length || 1})"""
DONE = "Every answer to this question is graded."


def open_question(page, url):
    page.goto(f"{url}/grade-by-question/?cell={CELL}")
    page.wait_for_function(READY, timeout=60_000)


def turn(page, expected, students):
    """One card graded as a TA does: the keys that make its items the right ones (the seeded items Q1..Q4 are
    keys 1..4), then Enter. None when every answer is graded; else (the card's first answer id, answers in
    the card, keys pressed)."""
    page.wait_for_function(READY, timeout=30_000)
    card = page.evaluate(CARD)
    if card["notice"] == DONE:
        return None
    right = expected[students[card["shown"]]]
    keys = [str(q) for q in sorted(right.symmetric_difference(card["given"]))] + ["Enter"]
    for key in keys:
        page.keyboard.press(key)
    return card["shown"], card["members"], len(keys)


def grade_by_keyboard(pages, expected, students):
    """The open pages' graders take turns until each is told every answer is graded; [(the page's index, its
    card's first answer id, answers in the card, keys)] of every card graded."""
    cards, active = [], list(pages)
    while active:
        for page in list(active):
            done = turn(page, expected, students)
            if done is None:
                active.remove(page)
            else:
                cards.append((pages.index(page), *done))
        if len(cards) > 10 * len(expected):
            raise AssertionError(f"graded {len(cards)} cards for {len(expected)} answers: the page does not move on")
    return cards
