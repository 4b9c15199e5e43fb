"""Grading at class scale: one synthetic class graded on PostgreSQL with 1 worker and with 2, side by side.

Usage: .venv/bin/python benchmarks/class_scale.py [--students 200]   (`make bench-class STUDENTS=200`)

The class cycles through the reference solution (with the demo class's results/, so that Task 4's figures are
measured), every entry of the wrong-submission catalogue (tests/wrong_submissions.py) and the hostile cases
(tests/hostile.py: tests rewritten, cells copied, outputs flooded; invalid JSON; a planted link), each student's
copy carrying their own seed in their code, so that no two submissions are the same file. Two course roots get
the same submissions and a database each on the course's PostgreSQL server (postgres/postgres.sh, in a folder
of its own, stopped at the end); each is graded by the instructor's command (grading/batch.py, what `make
autograde WORKERS=N` runs), one after the other on this otherwise idle machine. Prints a line per run, then one
JSON line: seconds per submission (batch wall time / students) each way, the median of a student's grading,
the speedup, the peak resident memory of a worker and the grading it ran, and whether every student's status and
score are the same in both runs. Exits 1 when they are not.
"""
import argparse
import copy
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the catalogue and the hostile cases are the tests' own
import hostile  # noqa: E402
from wrong_submissions import CATALOGUE  # noqa: E402

ASSIGNMENT = "gan_mnist"
SOURCE_NB = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
DEMO_RESULTS = REPO / "demo" / "submitted" / "demo_complete" / ASSIGNMENT / "results"
BIN = Path(sys.executable).parent


def scratch_env(**extra):
    """The benchmarks' environment: the venv first on PATH, without the operator's GRADEBOOK_URL and DASK_SCHEDULER
    (a benchmark grades its own scratch courses, never the real class's gradebook or cluster)."""
    env = {name: value for name, value in os.environ.items() if name not in ("GRADEBOOK_URL", "DASK_SCHEDULER")}
    return dict(env, PATH=f"{BIN}{os.pathsep}{env['PATH']}", **extra)


def kinds(source_nb):
    """[(name, function(folder, seed))]: what one student of each kind puts in their submission folder."""
    def notebook(nb, results=False):
        def put(folder, seed):
            nb_seed = copy.deepcopy(nb)
            answer = next(c for c in nb_seed.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "generator")
            answer.source = f"# my seed: {seed}\n" + answer.source
            nbformat.write(nb_seed, folder / f"{ASSIGNMENT}.ipynb")
            if results:
                shutil.copytree(DEMO_RESULTS, folder / "results")
        return put

    def invalid_json(folder, seed):
        (folder / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [' + " " * seed)

    def planted_link(folder, seed):
        notebook(source_nb)(folder, seed)
        (folder / "results").mkdir()
        (folder / "results" / "epoch_10.png").symlink_to("/etc/passwd")

    return ([("reference", notebook(source_nb, results=True))]
            + [(w.name, notebook(w.applied_to(source_nb))) for w in CATALOGUE]
            + [("tampers_with_tests", notebook(hostile.tampers_with_tests(source_nb))),
               ("copies_cells", notebook(hostile.copies_cells(source_nb))),
               ("flooding", notebook(hostile.flooding(copy.deepcopy(source_nb)))),
               ("invalid_json", invalid_json), ("planted_link", planted_link)])


def course(root, url, students, env):
    """A course root with the assignment released into the gradebook at ``url`` and ``students`` submitted."""
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(SOURCE_NB.parent, root / "source" / ASSIGNMENT, ignore=shutil.ignore_patterns("results*"))
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT], cwd=root, check=True,
                   env=dict(env, GRADEBOOK_URL=url), capture_output=True)
    for student, put in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        put(folder, int(student.split("-")[0]))


def graded(root, url, workers, env):
    """Grade the course with ``workers``: (batch wall seconds, report rows)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root), "--workers", str(workers)],
                          cwd=REPO, env=dict(env, GRADEBOOK_URL=url), capture_output=True, text=True)
    wall = time.perf_counter() - started
    report = root / "autograde_report.csv"
    if not report.exists():
        sys.exit(f"the batch with {workers} worker(s) wrote no report:\n{proc.stdout}\n{proc.stderr}")
    with open(report, newline="") as f:
        return wall, {row["student"]: row for row in csv.DictReader(f)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()
    env = scratch_env()
    env.pop("OMP_NUM_THREADS", None)  # the batch's own default: one PyTorch thread a kernel
    source_nb = nbformat.read(SOURCE_NB, as_version=4)
    menu = kinds(source_nb)
    students = {f"{i:04d}-{menu[i % len(menu)][0]}": menu[i % len(menu)][1] for i in range(args.students)}
    state = Path(tempfile.mkdtemp(prefix="gan-bench-pg-"))
    pg_env = dict(env, GAN_POSTGRES_STATE=str(state))
    work = Path(tempfile.mkdtemp(prefix="gan-bench-class-"))
    runs = {}
    try:
        subprocess.run(["bash", "postgres/postgres.sh", "start"], cwd=REPO, env=pg_env, check=True, capture_output=True)
        server = (state / "url").read_text().strip()
        for workers in (1, 2):
            url = server.replace("/gradebook?", f"/class{workers}?")
            with sa.create_engine(server, isolation_level="AUTOCOMMIT").connect() as admin:
                admin.execute(sa.text(f"CREATE DATABASE class{workers}"))
            root = work / f"class{workers}"
            course(root, url, students, env)
            wall, rows = graded(root, url, workers, env)
            runs[workers] = (wall, rows)
            seconds = [float(r["seconds"]) for r in rows.values() if r["status"] == "graded"]
            print(f"{workers} worker(s): {len(rows)} students in {wall:.0f} s, {wall / len(rows):.2f} s per submission, "
                  f"median {statistics.median(seconds):.1f} s per graded one", flush=True)
    finally:
        subprocess.run(["bash", "postgres/postgres.sh", "stop"], cwd=REPO, env=pg_env, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    (wall1, rows1), (wall2, rows2) = runs[1], runs[2]
    outcome = {s: (r["status"], r["score"]) for s, r in rows1.items()}
    same = outcome == {s: (r["status"], r["score"]) for s, r in rows2.items()}
    if not same:
        for student in sorted(outcome):
            if outcome[student] != (rows2[student]["status"], rows2[student]["score"]):
                print(f"differs: {student}: 1 worker {outcome[student]}, 2 workers "
                      f"{(rows2[student]['status'], rows2[student]['score'])}", file=sys.stderr)
    print(json.dumps({
        "students": args.students,
        "s_per_submission_1": round(wall1 / args.students, 2),
        "s_per_submission_2": round(wall2 / args.students, 2),
        "median_s_1": statistics.median(float(r["seconds"]) for r in rows1.values() if r["status"] == "graded"),
        "median_s_2": statistics.median(float(r["seconds"]) for r in rows2.values() if r["status"] == "graded"),
        "speedup": round(wall1 / wall2, 3),
        "peak_rss_per_worker_mb": max(int(r["peak_rss_mb"]) for r in [*rows1.values(), *rows2.values()]),
        "graded": sum(r["status"] == "graded" for r in rows1.values()),
        "scores_equal": same,
        "cpus": len(os.sched_getaffinity(0)), "machine": platform.machine()}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
