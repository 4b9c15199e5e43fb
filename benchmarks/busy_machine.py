"""One submission's autograde alone and beside a second grading on the same machine, side by side in one run.

Usage: .venv/bin/python benchmarks/busy_machine.py [--rounds 3] [--threads 1]   (`make bench-busy`)

Two scratch course roots: "mine" gets one copy of the reference solution per round (the demo class's results/,
so that Task 4's figures are measured), "theirs" as many as it can grade meanwhile. Each round grades one of
mine alone, on an otherwise idle machine, and one while theirs runs its own `make autograde` (grading/batch.py,
one worker) beside it, in alternating order; each is the instructor's nbgrader run for one student, as the batch
starts it (``--threads`` PyTorch threads in the kernel: 1, as `make autograde` gives each; before issue 16 one
worker's kernel had all the cores). Prints a line per grading, then one JSON line: the median seconds
alone and beside, their ratio, and every score of mine (issue 16: beside ≤ 3x alone, full marks or "needs
regrade", never less).
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from class_scale import ASSIGNMENT, BIN, REPO, SOURCE_NB, course, kinds, scratch_env  # the class benchmark's
from grading.batch import needs_regrade


def sqlite(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def interruptible():
    """In the second batch's process: the SIGINT that ends its round ends it, also where this benchmark runs in the
    background (a shell starts background commands with SIGINT ignored, and a child keeps that: the second batch
    then graded all its copies, and the next rounds' "beside" had nothing beside them)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def grade(root: Path, student: str, env: dict) -> tuple:
    """(seconds, score or the reason it has none) of one nbgrader autograde run."""
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--student", student, "--force"], cwd=root,
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return seconds, ("needs regrade" if needs_regrade(proc.stdout + proc.stderr) else "failed")
    with Gradebook(sqlite(root)) as gb:
        try:
            return seconds, gb.find_submission(ASSIGNMENT, student).score
        except MissingEntry:
            return seconds, "no grades"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch/OpenMP threads of each grading's kernel")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gan-bench-busy-"))
    env = scratch_env(OMP_NUM_THREADS=str(args.threads))
    mine, theirs = scratch / "mine", scratch / "theirs"
    times, scores = {"alone": [], "beside": []}, []
    try:
        reference = dict(kinds(nbformat.read(SOURCE_NB, as_version=4)))["reference"]  # with the demo's results/
        student = {(way, i): f"{2 * i + k:04d}-{way}"
                   for i in range(args.rounds) for k, way in enumerate(("alone", "beside"))}
        course(mine, sqlite(mine), dict.fromkeys(student.values(), reference), env)
        course(theirs, sqlite(theirs), {f"{i:04d}-copy": reference for i in range(4 * args.rounds)}, env)
        for i in range(args.rounds):
            for way in (("alone", "beside") if i % 2 == 0 else ("beside", "alone")):
                second = None
                if way == "beside":  # theirs grades its copies one after the other, from before mine starts
                    second = subprocess.Popen([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(theirs),
                                               "--workers", "1"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, preexec_fn=interruptible)
                    time.sleep(10)
                try:
                    seconds, score = grade(mine, student[way, i], env)
                finally:
                    if second:
                        second.send_signal(signal.SIGINT)  # the batch ends its workers, their nbgrader and sandboxes
                        second.wait()
                        time.sleep(5)  # the machine idle again before the next grading
                times[way].append(seconds)
                scores.append(score)
                print(f"round {i + 1}, {way}: {seconds:.1f} s, score {score}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    alone, beside = statistics.median(times["alone"]), statistics.median(times["beside"])
    print(json.dumps({"rounds": args.rounds, "median_s_alone": round(alone, 1), "median_s_beside": round(beside, 1),
                      "ratio": round(beside / alone, 2), "scores": scores, "threads": args.threads,
                      "cpus": len(os.sched_getaffinity(0)), "machine": platform.machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
