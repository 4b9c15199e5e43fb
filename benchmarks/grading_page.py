"""`make bench-grading`: a class's written answers graded question by question (grading/by_question/).

A synthetic class of STUDENTS (default 300) answers to Task 1 (tests/written_answers.py: common answers copied
exactly or nearly, answers of their own, unanswered ones), served by `jupyter lab` with formgrader and the page,
graded by one TA in headless Chromium by keyboard only: the keys that give each card its right items, then Enter.
It reports
- keys per answer with the answer groups (measured), and without them (each answer its items and Enter);
- the time from Enter to the next answer shown (the page's own ``enter-to-answer`` measures; median and 90th
  percentile): the page shows the next answer, fetched ahead, while the save goes to the server; and that save's
  round trip (``save-round-trip``: the server scores it and sends the question's state back; median);
- the time to re-score every answer after an item's points change: one item given to all the answers, then its
  points changed through the page's API (the request's round trip, median of 3).
Goals (issue 30): at most 2 keys per answer, 150 ms median from Enter to the next answer, 2 s to re-score.
Last line JSON.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the synthetic class and the browser are the tests' own
sys.path.insert(0, str(REPO))

from nbgrader.api import Gradebook  # noqa: E402

from browser import JupyterServer, chromium  # noqa: E402
from conftest import ASSIGNMENT  # noqa: E402
from grading.by_question.rubric import Question, Rubric  # noqa: E402
from written_answers import CELL, grade_by_keyboard, grade_ids, open_question, written_class  # noqa: E402

RESCORE = """async (points) => {
  const item = document.querySelector('#edit-items li:last-child');
  const started = performance.now();
  const response = await fetch('api/item?' + new URLSearchParams({assignment: 'gan_mnist', notebook: 'gan_mnist',
    cell: 'task1_answer'}), {method: 'POST', headers: {'Content-Type': 'application/json', 'X-XSRFToken':
    decodeURIComponent((document.cookie.match(/(?:^|;\\s*)_xsrf=([^;]*)/) || ['', ''])[1])},
    body: JSON.stringify({id: Number(window.benchItem), text: 'Legible', points})});
  await response.json();
  return {status: response.status, ms: performance.now() - started};
}"""


def give_everyone(root, item_text):
    """A new item given to every answer (each keeps its items); its id."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        rubric = Rubric(gb)
        question = gb.db.query(Question).filter_by(assignment=ASSIGNMENT, notebook=ASSIGNMENT, cell=CELL).one()
        item = rubric.save_item(question, None, item_text, 0.0)
        states = rubric.states(question)
        for gid, state in states.items():
            rubric.grade(question, [gid], state["items"] + [item], state["adjustment"], state["comment"],
                         state["grader"])
        return item, len(states)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gan-bench-grading-") as tmp:
        tmp = Path(tmp)
        started = time.monotonic()
        root, expected, _ = written_class(tmp / "course", args.students)
        print(f"class of {len(expected)} made in {time.monotonic() - started:.0f} s", flush=True)
        students = grade_ids(root)
        server = JupyterServer(root, tmp / "home")
        try:
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                open_question(page, server.url)
                started = time.monotonic()
                cards = grade_by_keyboard([page], expected, students)
                graded_in = time.monotonic() - started
                enter, saves = ([e["duration"] for e in page.evaluate(
                    f"() => performance.getEntriesByName('{name}').map(e => ({{duration: e.duration}}))")]
                    for name in ("enter-to-answer", "save-round-trip"))
                item, given = give_everyone(root, "Legible")
                page.evaluate(f"window.benchItem = {item}")
                rescore = [page.evaluate(RESCORE, points) for points in (0.5, 0.0, 0.25)]
                assert all(r["status"] == 200 for r in rescore), rescore
        finally:
            server.stop()
    keys = sum(k for *_, k in cards)
    without_groups = sum(len(right) + 1 for right in expected.values())
    enter.sort()
    result = {
        "students": len(expected), "cards": len(cards), "keys_per_answer": round(keys / len(expected), 2),
        "keys_per_answer_without_groups": round(without_groups / len(expected), 2),
        "enter_to_next_answer_ms": {"median": round(statistics.median(enter), 1),
                                    "p90": round(enter[int(0.9 * (len(enter) - 1))], 1), "n": len(enter)},
        "save_round_trip_ms": {"median": round(statistics.median(saves), 1), "n": len(saves)},
        "rescore_seconds": {"answers": given, "median": round(statistics.median(r["ms"] for r in rescore) / 1000, 3)},
        "graded_in_seconds": round(graded_in, 1),
        "goals": {"keys_per_answer": 2, "enter_to_next_answer_ms": 150, "rescore_seconds": 2},
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
    }
    result["goals_met"] = (result["keys_per_answer"] <= 2 and result["enter_to_next_answer_ms"]["median"] <= 150
                           and result["rescore_seconds"]["median"] <= 2)
    print(f"{len(expected)} answers in {len(cards)} cards: {result['keys_per_answer']} keys per answer "
          f"({result['keys_per_answer_without_groups']} without groups); Enter to the next answer "
          f"{result['enter_to_next_answer_ms']['median']} ms median (a save's round trip "
          f"{result['save_round_trip_ms']['median']} ms); {given} answers re-scored in "
          f"{result['rescore_seconds']['median']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
