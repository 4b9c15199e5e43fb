"""Autograde every submission of an assignment, one task per student on a Dask cluster, with a progress bar.

Usage (from the course root): .venv/bin/python -m grading.batch [gan_mnist] [--regrade] [--root COURSE]
                                  [--workers N] [--scheduler tcp://host:port]
(`make autograde [WORKERS=N]`: new submissions only; `make regrade`: every submission again, after a backup)

`nbgrader autograde` stops at nothing but also reports little: this runs it once per student in
submitted/<student>/<assignment>/, so one broken submission (invalid JSON, a kernel that dies, a
sandbox limit, a renamed notebook, an empty folder) is reported, left as it is, and the others are still
graded. Prints a table and writes autograde_report.csv: student, status (graded / skipped / refused / failed /
needs regrade), autograded score, seconds, the reason for the others (for a late submission: how late, and its
penalty, grading/late.py; for a notebook that was not the course's: what grading.rebuild did, e.g. a deleted answer
cell graded as unanswered), and what needs a person (``review``: code that needs review, tests the trusted
re-check refuted, copied images; from the graded notebook's ``gan_grading`` record, grading/verdicts.py).
Then compares the class (grading/similarity.py): solutions that read alike and identical result images
go to integrity_report.csv. Exits 1 if any submission could not be graded, after grading all the others.

Each student is one task (``grade_student``) on a ``dask.distributed`` cluster: a LocalCluster of ``--workers``
processes (default: one per core on PostgreSQL, one on sqlite), or the cluster at ``--scheduler`` / $DASK_SCHEDULER
(whose workers must see the course folder at the same path). Every grading's kernel runs PyTorch on one thread
(OMP_NUM_THREADS=1 unless the operator sets it): a grading is already several processes at once (the kernel, the
trusted re-check beside it, nbgrader), and OpenMP teams on shared cores spin against each other. A cell's time limit
is CPU time (grading.sandbox): a grading slowed down by a busy machine is not stopped for it; one that still
reaches a wall-clock limit while its code waited for a CPU (``NeedsRegradeError``) runs once more, in a fresh kernel,
and if that is stopped so too it is reported "needs regrade" (no score; its notebook flagged in the gradebook, which
formgrader shows) and graded again by the next run. A task whose worker is lost (killed, out of memory) runs again
on another worker (Dask's ``allowed-failures``); the nbgrader run of a lost worker ends with it, and its sandbox with nbgrader
(sandbox/kernel.sh). A student is finished when
the graded notebook is written with its verdicts (nbgrader's last step): a batch that was interrupted (Ctrl-C, the machine, a
killed client) grades, when run again, only the students not finished, and those from scratch. A sqlite gradebook
takes one writer at a time, so more than one worker on it is refused (`make postgres`, grading/gradebook.py).

Before anything runs, it stops with one message when the sandbox is not installed; a submission
holding links or special files is refused without being read; the gradebook is copied to
gradebook-backups/ before the batch (a PostgreSQL gradebook into a sqlite file) and a sqlite one is checked after
every student: a damaged gradebook stops the batch and is restored from that copy (the damaged file is kept beside
it). ``--regrade`` also exports the grades (``nbgrader export``) to a timestamped CSV there first: manual scores and
comments stay in the gradebook through a regrade, and the export is what they were.
"""
import argparse
import csv
import ctypes
import logging
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import sqlalchemy as sa
from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from grading.gradebook import copy_gradebook, gradebook_url, is_sqlite, shown, sqlite_file, venv_path
from grading.late import how_late
from grading.rebuild import GRADING_METADATA
from grading.sandbox import SubmissionRefusedError, refuse_untrusted, sandbox_problem

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


def needs_regrade(log: str) -> bool:
    """Whether nbgrader's log ends with the sandbox's NeedsRegradeError (a busy machine stopped the grading)."""
    errors = ERROR_LINE.findall(log)
    return bool(errors) and errors[-1][0] == "grading.sandbox.NeedsRegradeError"


def flag_for_regrade(url: str, assignment: str, student: str):
    """Flag the student's notebooks in the gradebook (formgrader shows the flag): not scored, to be graded again."""
    with Gradebook(url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return
        for notebook in submission.notebooks:
            notebook.flagged = True
        gb.db.commit()


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


def back_up_gradebook(url: str, folder: Path):
    """A consistent, timestamped copy of the gradebook at ``url`` in ``folder`` (gradebook-backups/), as a sqlite file
    whichever the gradebook is; None when a sqlite gradebook does not exist yet."""
    if is_sqlite(url) and not sqlite_file(url).exists():
        return None
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = folder / f"gradebook-{stamp}.db"
    for n in range(2, 100):  # two batches within a second
        if not backup.exists():
            break
        backup = folder / f"gradebook-{stamp}-{n}.db"
    if is_sqlite(url):
        with sqlite3.connect(sqlite_file(url)) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)
    else:
        copy_gradebook(url, f"sqlite:///{backup}")
    return backup


def nbgrader(root: Path, *args):
    """Run this environment's nbgrader in the course ``root`` (its helper programs first on PATH)."""
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, PATH=venv_path()))


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


def end_with_parent():
    """In a child process (subprocess's preexec_fn): killed when the process that started it dies (a lost worker's
    nbgrader ends with it; sandbox/kernel.sh then ends the kernel)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes (those gone meanwhile count 0; a shared
    library's pages count in every process that maps it)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def graded_record(root: Path, assignment: str, student: str):
    """The ``gan_grading`` record of the student's graded notebook ({} when it has none), or None when there is no
    whole notebook."""
    try:
        nb = nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    except (OSError, ValueError):
        return None
    return nb.metadata.get(GRADING_METADATA, {})


def is_finished(record) -> bool:
    """Whether a graded notebook's record holds the verdicts (grading.verdicts.SaveVerdicts): nbgrader writes the
    notebook once sanitized, and again when every step of autograde is done."""
    return record is not None and "trusted" in record


def finished(root: Path, assignment: str, student: str) -> bool:
    return is_finished(graded_record(root, assignment, student))


def grade_student(root: str, assignment: str, student: str, regrade: bool, threads: int) -> dict:
    """One task of the batch, on a Dask worker: nbgrader's autograde for ``student`` in the course ``root``, in the
    sandbox, its kernel on ``threads`` PyTorch/OpenMP threads; once more when a busy machine stopped it (status
    "needs regrade" if it stops so again). {status, reason, seconds, peak_rss_mb, notes, review}:
    the peak resident memory of this worker and the grading it ran, together; the graded notebook's record in a line
    each (``record_summary``), read here, where the notebook is."""
    root = Path(root)
    outcome = {"status": "failed", "reason": "", "seconds": 0.0, "peak_rss_mb": 0.0, "notes": "", "review": ""}
    refused = refusal(root, assignment, student)
    missing = None if refused else missing_notebook(root, assignment, student)
    if refused or missing:
        return {**outcome, "status": "refused" if refused else "failed", "reason": refused or missing}
    record = None if regrade else graded_record(root, assignment, student)
    if is_finished(record):
        return {**outcome, **record_summary(record), "status": "skipped",
                "reason": "already autograded (`make regrade` grades again)"}
    # --force: what an unfinished earlier run (a lost worker, an interrupted batch) left is graded from scratch
    command = [str(BIN / "nbgrader"), "autograde", assignment, "--student", student, "--force"]
    env = dict(os.environ, PATH=venv_path(), OMP_NUM_THREADS=str(threads))
    worker = psutil.Process()
    started, peak = time.perf_counter(), 0
    for _ in range(2):
        with tempfile.TemporaryFile("w+") as log:
            proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                                    preexec_fn=end_with_parent)
            while proc.poll() is None:
                peak = max(peak, tree_rss(worker))
                time.sleep(0.5)
            log.seek(0)
            text = log.read()
        busy = proc.returncode != 0 and needs_regrade(text)
        if not busy:
            break
    outcome.update(seconds=time.perf_counter() - started, peak_rss_mb=peak / 2**20)
    if proc.returncode != 0:
        return {**outcome, "status": "needs regrade" if busy else "failed", "reason": failure_reason(text)}
    return {**outcome, **record_summary(graded_record(root, assignment, student) or {}), "status": "graded"}


def autograded_score(url: str, assignment: str, student: str):
    """(score, max score, what lateness cost) of the student's autograded tests, or None when the gradebook has
    no submission."""
    with Gradebook(url) as gb:
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


def record_summary(record: dict) -> dict:
    """What a graded notebook's record says, each in one line ("" when nothing): ``notes``, how the notebook was
    rebuilt (an answer cell deleted, a cell added or moved), and ``review``, what needs a person."""
    parts = [f"needs review: {'; '.join(record.get('needs_review', []))}" if record.get("needs_review") else "",
             f"refuted: {'; '.join(r.split(':')[0] for r in record.get('refuted', []))}" if record.get("refuted") else "",
             f"copied images: {len(record.get('copied_images', []))}" if record.get("copied_images") else "",
             f"Task 4's figures not confirmed at epochs {', '.join(map(str, record['task4_unconfirmed']))}"
             if record.get("task4_unconfirmed") else ""]
    return {"notes": "; ".join(record.get("notes", [])), "review": " | ".join(p for p in parts if p)}


def cores() -> int:
    return len(os.sched_getaffinity(0))


def start_cluster(workers: int, scheduler: str):
    """A Dask client: of the cluster at ``scheduler``, or of a LocalCluster of ``workers`` single-threaded processes
    (the client's scheduler and workers end with this process)."""
    from dask.distributed import Client, LocalCluster  # only the batch's client needs the scheduler's machinery
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)  # loopback, any free ports
    return Client(cluster)


def sqlite_refusal(url: str, workers: int, scheduler: str):
    """Why this batch must not run on this gradebook (several writers on one sqlite file), or None."""
    if not is_sqlite(url) or (workers == 1 and not scheduler):
        return None
    return (f"the gradebook is a sqlite file ({sqlite_file(url).name}), which takes one writer at a time: grade with one "
            "worker (WORKERS=1), or start PostgreSQL (`make postgres`), copy the gradebook there "
            "(`make gradebook-to-postgres`) and set GRADEBOOK_URL as it says")


def assignment_missing(url: str, assignment: str):
    """Why the gradebook cannot take this assignment's grades (not entered), or None."""
    try:
        with Gradebook(url) as gb:
            gb.find_assignment(assignment)
    except MissingEntry:
        return (f"the gradebook at {shown(url)} has no assignment {assignment}: `make gradebook-to-postgres` copies "
                f"the course's gradebook.db into it, `make release` enters the assignment")
    except sa.exc.SQLAlchemyError as err:
        return f"cannot open the gradebook at {shown(url)}: {err}"
    return None


def report_row(root: Path, url: str, assignment: str, student: str, outcome: dict) -> dict:
    """The report's row for one student: the task's outcome with the gradebook's score and the graded notebook's
    record."""
    status, reason = outcome["status"], outcome["reason"]
    scores = autograded_score(url, assignment, student) if status in ("graded", "skipped") else None
    if status == "skipped" and scores is None:  # graded elsewhere, or with a gradebook since replaced
        status, reason = "failed", (f"autograded/{student}/{assignment}/ exists but the gradebook has no grades "
                                    "for it: `make regrade` grades it again")
    score, max_score, late = scores or (None, None, "")
    notes, review = (outcome["notes"], outcome["review"]) if scores else ("", "")
    reason = reason or "; ".join(p for p in (late, notes) if p)
    return {"student": student, "status": status, "score": score, "max_score": max_score,
            "seconds": round(outcome["seconds"], 1), "peak_rss_mb": round(outcome["peak_rss_mb"]),
            "message": CONTROL_CHARACTERS.sub(" ", reason), "review": CONTROL_CHARACTERS.sub(" ", review)}


def grade_class(client, root: Path, url: str, assignment: str, students: list, regrade: bool, threads: int,
                backup) -> tuple:
    """Every student's task on the cluster, their rows as they finish: (rows, exit status; 2 when the gradebook was
    damaged and the batch stopped)."""
    from dask.distributed import as_completed
    futures = {client.submit(grade_student, str(root), assignment, student, regrade, threads, pure=False,
                             key=f"autograde-{student}-{time.time_ns()}"): student for student in students}
    rows = {}
    with tqdm(total=len(students), desc=f"autograding {assignment}", unit="submission") as progress:
        for future in as_completed(futures):
            student = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # KilledWorker: the task's workers died allowed-failures times
                outcome = {"status": "failed", "reason": f"{type(err).__name__}: {err}"[:300], "seconds": 0.0,
                           "peak_rss_mb": 0.0, "notes": "", "review": ""}
            future.release()  # a finished task is never run again, whatever becomes of its worker
            if backup and is_sqlite(url) and not gradebook_is_sound(sqlite_file(url)):
                damaged = restore_gradebook(sqlite_file(url), backup)
                print(f"the gradebook was damaged while grading {student}: batch stopped, {sqlite_file(url).name} "
                      f"restored from {backup}; the damaged file is {damaged}", file=sys.stderr)
                return rows, 2
            if outcome["status"] == "needs regrade":
                flag_for_regrade(url, assignment, student)
            rows[student] = report_row(root, url, assignment, student, outcome)
            progress.update()
    return rows, 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="gan_mnist")
    parser.add_argument("--regrade", action="store_true",
                        help="grade submissions already autograded again (backs the gradebook up and exports it first)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
    parser.add_argument("--workers", type=int, help="worker processes of the local cluster (default: one per core on "
                        "PostgreSQL, one on sqlite)")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER") or None,
                        help="an existing Dask cluster's scheduler, tcp://host:port (default: $DASK_SCHEDULER)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be 1 or more")
    root = args.root.resolve()
    url = gradebook_url(root)
    workers = args.workers or (1 if is_sqlite(url) else cores())
    problem = sqlite_refusal(url, workers, args.scheduler)
    if problem:
        print(f"nothing graded: {problem}", file=sys.stderr)
        return 1
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
    os.environ["PATH"] = venv_path()  # nbgrader's Gradebook runs alembic by name
    problem = assignment_missing(url, args.assignment)
    if problem:
        print(f"nothing graded: {problem}", file=sys.stderr)
        return 1

    backup = back_up_gradebook(url, root / "gradebook-backups")
    if backup and args.regrade:
        export = export_grades(root, backup)
        if export is None:
            print("`nbgrader export` failed: nothing regraded (run it in the course root to see why)", file=sys.stderr)
            return 1
        print(f"before regrading: gradebook copied to {backup}, grades exported to {export}")
    threads = int(os.environ.get("OMP_NUM_THREADS") or 1)  # one: see this module's docstring
    client = start_cluster(workers, args.scheduler)
    try:
        rows, status = grade_class(client, root, url, args.assignment, students, args.regrade, threads, backup)
    except KeyboardInterrupt:
        for worker in psutil.Process().children():  # now, not after their gradings: each ends its nbgrader and sandbox
            if "resource_tracker" not in " ".join(worker.cmdline()):  # multiprocessing's own helper ends by itself
                worker.kill()
        print("\ninterrupted: the students graded so far keep their grades; `make autograde` grades the others",
              file=sys.stderr)
        return 130
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    if status:
        return status
    rows = [rows[student] for student in students]

    with open(root / "autograde_report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    width = max(len(r["student"]) for r in rows)
    for r in rows:
        score = f"{r['score']:g}/{r['max_score']:g}" if r["score"] is not None else "-"
        print(f"{r['student']:<{width}}  {r['status']:<7}  {score:>7}  {r['message']}{'  ' + r['review'] if r['review'] else ''}")
    failed = [r["student"] for r in rows if r["status"] in ("failed", "refused")]
    busy = [r["student"] for r in rows if r["status"] == "needs regrade"]
    seconds = [r["seconds"] for r in rows if r["status"] == "graded"]
    per = f", median {statistics.median(seconds):.1f} s per graded submission" if seconds else ""
    where = args.scheduler or f"{workers} worker{'s' if workers > 1 else ''}"
    print(f"{len(rows) - len(failed) - len(busy)} of {len(rows)} submissions autograded ({where}){per}; "
          f"report: {root / 'autograde_report.csv'}")
    review = [r["student"] for r in rows if r["review"]]
    if review:
        print(f"need a person (formgrader flags them): {', '.join(review)}")
    from grading.similarity import class_report  # it imports PyTorch: here, not in every worker that imports this module
    integrity = class_report(root, args.assignment)
    with open(root / "integrity_report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["kind", "students", "similarity", "detail"])
        writer.writeheader()
        writer.writerows(integrity)
    print(f"class comparison: {sum(r['kind'] == 'similar code' for r in integrity)} pairs of similar solutions, "
          f"{sum(r['kind'] == 'identical images' for r in integrity)} sets of identical images; "
          f"report: {root / 'integrity_report.csv'}")
    if busy:
        print(f"stopped twice by a busy machine, not scored (flagged in formgrader; `make autograde` grades them "
              f"again): {', '.join(busy)}")
    if failed:
        print(f"could not be graded (score them by hand or ask for a new submission): {', '.join(failed)}")
    return 1 if failed or busy else 0


if __name__ == "__main__":
    sys.exit(main())
