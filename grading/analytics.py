"""The class at a glance, from the gradebook: one HTML page with its PNGs (`make class-report`).

Usage (from the course root): .venv/bin/python -m grading.analytics [gan_mnist] [--root COURSE] [--out FOLDER]

Writes FOLDER (default COURSE/class-report/): index.html, grades.png (the histogram of the class's scores) and
tests.png (for each autograded test cell, how many graded students failed it). A test that fails for more than
``--suspect`` of the class (default half) is flagged as suspect: more likely the test or the lab than the
students. Also lists the manual grading still pending (written answers, and submissions flagged for review) and
the students not graded: those whose last batch could not grade them (autograde_report.csv) and those who
submitted but are not in the gradebook yet. The gradebook is the course's (GRADEBOOK_URL, else gradebook.db).
The page holds no script and every name in it is escaped: student ids come from folder names.
"""
import argparse
import csv
import html
import sys
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from nbgrader.api import Gradebook, MissingEntry  # noqa: E402

from grading.gradebook import gradebook_url  # noqa: E402


def class_figures(url: str, assignment: str) -> dict:
    """What the gradebook says of the class: scores, failures per test cell, pending manual grading."""
    with Gradebook(url) as gb:
        graded = gb.find_assignment(assignment).submissions
        scores, max_score, failures, pending, flagged = {}, 0.0, Counter(), {}, []
        tests = {}
        for submission in graded:
            student = submission.student_id
            if all(grade.auto_score is None and grade.manual_score is None
                   for notebook in submission.notebooks for grade in notebook.grades):
                continue  # entered by an autograde that did not finish (failed, needs regrade): no score, not a 0
            scores[student], max_score = submission.score, max(max_score, submission.max_score)
            for notebook in submission.notebooks:
                if notebook.flagged:
                    flagged.append(student)
                for grade in notebook.grades:
                    if grade.cell_type == "code":
                        tests[grade.name] = grade.max_score
                        if (grade.auto_score or 0) < grade.max_score:
                            failures[grade.name] += 1
                    if grade.needs_manual_grade:
                        pending.setdefault(student, []).append(grade.name)
        return {"scores": scores, "max_score": max_score, "tests": tests, "failures": failures,
                "pending": pending, "flagged": sorted(set(flagged))}


def not_graded(root: Path, assignment: str, graded: set) -> list:
    """[(student, why)]: the last batch's failures, refusals and gradings to redo, and submissions the gradebook does
    not have yet."""
    rows = {}
    report = root / "autograde_report.csv"
    if report.exists():
        with open(report, newline="") as f:
            rows = {r["student"]: f"{r['status']}: {r['message']}" for r in csv.DictReader(f)
                    if r["status"] in ("failed", "refused", "needs regrade")}
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if student not in graded and student not in rows:
            rows[student] = "submitted, not autograded yet (`make autograde`)"
    return sorted(rows.items())


def plot_grades(figures: dict, path: Path):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = figures["max_score"] or 1
    ax.hist(list(figures["scores"].values()), bins=min(26, max(5, int(top))), range=(0, top), color="#4c72b0")
    ax.set_xlabel(f"score (of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{len(figures['scores'])} graded submissions")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_tests(figures: dict, suspect: float, path: Path):
    names = sorted(figures["tests"])
    graded = max(1, len(figures["scores"]))
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    failed = [figures["failures"][n] for n in names]
    ax.barh(names, failed, color=["#c44e52" if f > suspect * graded else "#4c72b0" for f in failed])
    ax.axvline(suspect * graded, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, graded)
    ax.set_xlabel(f"students who failed it (of {graded}); red: suspect")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def page(assignment: str, figures: dict, missing: list, suspect: float) -> str:
    e = html.escape
    graded = len(figures["scores"])
    scores = sorted(figures["scores"].values())
    median = scores[len(scores) // 2] if scores else 0
    test_rows = "".join(
        f"<tr{' class=suspect' if figures['failures'][n] > suspect * graded else ''}><td>{e(n)}</td>"
        f"<td>{figures['tests'][n]:g}</td><td>{figures['failures'][n]}</td>"
        f"<td>{'suspect: most of the class fails it' if figures['failures'][n] > suspect * graded else ''}</td></tr>"
        for n in sorted(figures["tests"]))
    pending_rows = "".join(f"<tr><td>{e(s)}</td><td>{e(', '.join(cells))}</td></tr>"
                           for s, cells in sorted(figures["pending"].items()))
    missing_rows = "".join(f"<tr><td>{e(s)}</td><td>{e(why)}</td></tr>" for s, why in missing)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{e(assignment)}: class report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'">
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td,th{{padding:.2em .8em;text-align:left}}
tr.suspect{{background:#fde2e2}}</style></head><body>
<h1>{e(assignment)}: class report</h1>
<p>{graded} graded submissions; median score {median:g} of {figures['max_score']:g}.
{len(figures['pending'])} with manual grading pending; {len(figures['flagged'])} flagged for review;
{len(missing)} not graded.</p>
<h2>Scores</h2><img src="grades.png" alt="histogram of the class's scores">
<h2>Autograded tests</h2><img src="tests.png" alt="students who failed each test cell">
<table><tr><th>test cell</th><th>points</th><th>failed by</th><th></th></tr>{test_rows}</table>
<h2>Manual grading pending</h2>
<table><tr><th>student</th><th>cells</th></tr>{pending_rows}</table>
<p>Flagged for review: {e(', '.join(figures['flagged'])) or 'none'}</p>
<h2>Not graded</h2>
<table><tr><th>student</th><th>why</th></tr>{missing_rows}</table>
</body></html>
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="gan_mnist")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
    parser.add_argument("--out", type=Path, help="folder for the page (default: COURSE/class-report)")
    parser.add_argument("--suspect", type=float, default=0.5,
                        help="a test failed by more than this share of the class is suspect (default 0.5)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = args.out or root / "class-report"
    try:
        figures = class_figures(gradebook_url(root), args.assignment)
    except MissingEntry:
        print(f"the gradebook has no assignment {args.assignment}", file=sys.stderr)
        return 1
    missing = not_graded(root, args.assignment, set(figures["scores"]))
    out.mkdir(parents=True, exist_ok=True)
    plot_grades(figures, out / "grades.png")
    plot_tests(figures, args.suspect, out / "tests.png")
    (out / "index.html").write_text(page(args.assignment, figures, missing, args.suspect))
    suspects = [n for n in sorted(figures["tests"]) if figures["failures"][n] > args.suspect * len(figures["scores"])]
    print(f"class report: {out / 'index.html'} ({len(figures['scores'])} graded, {len(missing)} not graded, "
          f"{sum(map(len, figures['pending'].values()))} cells to grade by hand; suspect tests: {', '.join(suspects) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
