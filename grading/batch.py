"""Autograde every submission of an assignment, one student at a time, with a progress bar.

Usage (from the course root): .venv/bin/python -m grading.batch [gan_mnist] [--regrade] [--root COURSE]
(`make autograde`: new submissions only; `make regrade`: every submission again, after a backup)

`nbgrader autograde` stops at nothing but also reports little: this runs it once per student in
submitted/<student>/<assignment>/, so one broken submission (invalid JSON, a kernel that dies, a
sandbox limit, a renamed notebook, an empty folder) is reported, left as it is, and the others are still
graded. Prints a table and writes autograde_report.csv: student, status (graded / skipped / refused / failed),
autograded score, seconds, the reason for the others (for a late submission: how late, and its penalty,
grading/late.py; for a notebook that was not the course's: what grading.rebuild did, e.g. a deleted answer
cell graded as unanswered), and what needs a person (``review``: code that needs review, tests the trusted
re-check refuted, copied images; from the graded notebook's ``gan_grading`` record, grading/verdicts.py).
Then compares the class (grading/similarity.py): solutions that read alike and identical result images
go to integrity_report.csv. Exits 1 if any submission could not be graded, after grading all the others.

Before anything runs, it stops with one message when the sandbox is not installed; a submission
holding links or special files is refused without being read; the gradebook is copied to
gradebook-backups/ before the batch and checked after every student: a damaged gradebook stops the
batch and is restored from that copy (the damaged file is kept beside it). ``--regrade`` also exports the
grades (``nbgrader export``) to a timestamped CSV there first: manual scores and comments stay in the
gradebook through a regrade, and the export is what they were.
"""
import argparse
import csv
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from grading.late import how_late
from grading.rebuild import GRADING_METADATA
from grading.sandbox import SubmissionRefusedError, refuse_untrusted, sandbox_problem
from grading.similarity import class_report

BIN = Path(sys.executable).parent
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # no escape sequences from a log into a terminal or CSV
EXCHANGE_FILES = {"timestamp.txt", "submission_secret.txt"}  # what nbgrader's submit adds to every submission
ERROR_LINE = re.compile(r"^\s*([\w.]+(?:Error|Exception)|Kernel died[^\n]*|Timeout[^\n]*)(?::\s*(.*))?$", re.M)


def failure_reason(log: str) -> str:
    """The most telling line of nbgrader's log for a failed submission."""
    errors = ERROR_LINE.findall(log)
    if errors:
        name, detail = errors[-1]
        if name.startswith("grading.sandbox."):  # the sandbox's own words: a limit, a refusal
            return detail[:300]
        if "Kernel died" in log:
            return "the kernel died (a cell killed or exited the Python process)"
        return f"{name}: {detail}".strip(": ")[:200]
    return "nbgrader failed; see its log"


def refusal(root: Path, assignment: str, student: str):
    """Why a submission folder must not be touched (links, FIFOs, devices, hard links), or None."""
    folder = root / "submitted" / student / assignment
    for path in (folder.parent, folder):
        if path.is_symlink() or not path.is_dir():
            return f"{path.relative_to(root)} is a link, not a folder: not graded"
    try:
        refuse_untrusted(folder, "the submission")
    except SubmissionRefusedError as err:
        return str(err)
    return None


def gradebook_is_sound(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def back_up_gradebook(path: Path):
    """A consistent, timestamped copy of the gradebook in gradebook-backups/ (None when there is none yet)."""
    if not path.exists():
        return None
    backup = path.parent / "gradebook-backups" / time.strftime(f"{path.stem}-%Y%m%d-%H%M%S{path.suffix}")
    backup.parent.mkdir(exist_ok=True)
    with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    return backup


def nbgrader(root: Path, *args):
    """Run this environment's nbgrader in the course ``root`` (its helper programs first on PATH)."""
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}"))


def export_grades(root: Path, backup: Path):
    """``nbgrader export`` of the gradebook to a CSV beside its backup copy (before a regrade); None if it fails."""
    export = backup.with_name(backup.stem.replace("gradebook-", "grades-") + ".csv")
    return export if nbgrader(root, "export", "--to", str(export)).returncode == 0 else None


def restore_gradebook(path: Path, backup):
    """Put the backup back; keep the damaged file beside it."""
    damaged = path.with_name(time.strftime(f"{path.stem}-damaged-%Y%m%d-%H%M%S{path.suffix}"))
    if path.exists():
        path.rename(damaged)
    shutil.copyfile(backup, path)
    return damaged


def autograde(root: Path, assignment: str, student: str, regrade: bool):
    """Run nbgrader for one student: (status, reason, seconds)."""
    started = time.perf_counter()
    proc = nbgrader(root, "autograde", assignment, "--student", student, *(["--force"] if regrade else []))
    seconds = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        return "failed", failure_reason(log), seconds
    if "Skipping existing assignment" in log:
        return "skipped", "already autograded (`make regrade` grades again)", seconds
    return "graded", "", seconds


def autograded_score(root: Path, assignment: str, student: str):
    """(score, max score, what lateness cost) of the student's autograded tests, or None when the gradebook has
    no submission."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        late = ""
        if submission.total_seconds_late > 0:
            late = (f"submitted {how_late(submission.total_seconds_late)} after the due date: late penalty "
                    f"{submission.late_submission_penalty or 0:g} points")
        return (sum(n.code_score for n in submission.notebooks), sum(n.max_code_score for n in submission.notebooks),
                late)


def missing_notebook(root: Path, assignment: str, student: str):
    """Why a submission has no notebook to grade (renamed, empty), or None: it stays as it is, for a person."""
    folder = root / "submitted" / student / assignment
    if (folder / f"{assignment}.ipynb").exists():
        return None
    notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
    if notebooks:
        return (f"no {assignment}.ipynb: the submission holds {', '.join(notebooks)} (renamed?); not graded, "
                f"rename it in submitted/{student}/{assignment}/ and run `make autograde`")
    if not any(p.name not in EXCHANGE_FILES for p in folder.iterdir()):
        return "the submission is empty (no files): not graded"
    return f"no {assignment}.ipynb in the submission: not graded"


def record_summary(root: Path, assignment: str, student: str) -> tuple:
    """What the graded notebook's record says, each in one line ("" when nothing): how the notebook was rebuilt
    (an answer cell deleted, a cell added or moved) and what needs a person."""
    try:
        nb = nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    except (OSError, ValueError):
        return "", ""
    record = nb.metadata.get(GRADING_METADATA, {})
    parts = [f"needs review: {'; '.join(record.get('needs_review', []))}" if record.get("needs_review") else "",
             f"refuted: {'; '.join(r.split(':')[0] for r in record.get('refuted', []))}" if record.get("refuted") else "",
             f"copied images: {len(record.get('copied_images', []))}" if record.get("copied_images") else ""]
    return "; ".join(record.get("notes", [])), " | ".join(p for p in parts if p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="gan_mnist")
    parser.add_argument("--regrade", action="store_true",
                        help="grade submissions already autograded again (backs the gradebook up and exports it first)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    problem = sandbox_problem()
    if problem:
        print(f"refusing to run student code outside the sandbox: {problem}. Run `make sandbox` (as root).",
              file=sys.stderr)
        return 1
    students = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{args.assignment}")
                      if p.is_dir() or p.is_symlink())
    if not students:
        print(f"no submissions found in {root / 'submitted'}/*/{args.assignment}/", file=sys.stderr)
        return 1

    gradebook = root / "gradebook.db"
    backup = back_up_gradebook(gradebook)
    if backup and args.regrade:
        export = export_grades(root, backup)
        if export is None:
            print("`nbgrader export` failed: nothing regraded (run it in the course root to see why)", file=sys.stderr)
            return 1
        print(f"before regrading: gradebook copied to {backup}, grades exported to {export}")
    rows = []
    for student in tqdm(students, desc=f"autograding {args.assignment}", unit="submission"):
        refused = refusal(root, args.assignment, student)
        missing = None if refused else missing_notebook(root, args.assignment, student)
        status, reason, took = (("refused", refused, 0.0) if refused else ("failed", missing, 0.0) if missing
                                else autograde(root, args.assignment, student, args.regrade))
        if backup and not gradebook_is_sound(gradebook):
            damaged = restore_gradebook(gradebook, backup)
            print(f"the gradebook was damaged while grading {student}: batch stopped, {gradebook.name} restored "
                  f"from {backup}; the damaged file is {damaged}", file=sys.stderr)
            return 2
        scores = autograded_score(root, args.assignment, student) if status in ("graded", "skipped") else None
        if status == "skipped" and scores is None:  # graded elsewhere, or with a gradebook since replaced
            status, reason = "failed", (f"autograded/{student}/{args.assignment}/ exists but the gradebook has no grades "
                                        "for it: `make regrade` grades it again")
        score, max_score, late = scores or (None, None, "")
        notes, review = record_summary(root, args.assignment, student) if scores else ("", "")
        reason = reason or "; ".join(p for p in (late, notes) if p)
        rows.append({"student": student, "status": status, "score": score, "max_score": max_score,
                     "seconds": round(took, 1), "message": CONTROL_CHARACTERS.sub(" ", reason),
                     "review": CONTROL_CHARACTERS.sub(" ", review)})

    with open(root / "autograde_report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    width = max(len(r["student"]) for r in rows)
    for r in rows:
        score = f"{r['score']:g}/{r['max_score']:g}" if r["score"] is not None else "-"
        print(f"{r['student']:<{width}}  {r['status']:<7}  {score:>7}  {r['message']}{'  ' + r['review'] if r['review'] else ''}")
    failed = [r["student"] for r in rows if r["status"] in ("failed", "refused")]
    seconds = [r["seconds"] for r in rows if r["status"] == "graded"]
    per = f", median {statistics.median(seconds):.1f} s per graded submission" if seconds else ""
    print(f"{len(rows) - len(failed)} of {len(rows)} submissions autograded{per}; report: {root / 'autograde_report.csv'}")
    review = [r["student"] for r in rows if r["review"]]
    if review:
        print(f"need a person (formgrader flags them): {', '.join(review)}")
    integrity = class_report(root, args.assignment)
    with open(root / "integrity_report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["kind", "students", "similarity", "detail"])
        writer.writeheader()
        writer.writerows(integrity)
    print(f"class comparison: {sum(r['kind'] == 'similar code' for r in integrity)} pairs of similar solutions, "
          f"{sum(r['kind'] == 'identical images' for r in integrity)} sets of identical images; "
          f"report: {root / 'integrity_report.csv'}")
    if failed:
        print(f"could not be graded (score them by hand or ask for a new submission): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
