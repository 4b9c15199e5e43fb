"""Seconds per submission when the instructor autogrades a class, in the sandbox and without it, side by side.

Usage: .venv/bin/python benchmarks/autograde_batch.py [--students 12] [--rounds 2]

Builds scratch copies of the course with N submissions each (every third one the untouched release,
the rest the instructor's solution) and grades them with the instructor's command
(scripts/autograde_all.py: one nbgrader run per student, progress bar, report): in each round one
course in the sandbox and one with GAN_UNSANDBOXED_AUTOGRADE=1 (the trusted opt-out), in alternating
order. Prints one JSON line: the median seconds of one student's autograde each way, their ratio, and
the sandboxed batches' wall time per submission.
"""
import argparse
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

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "gan_mnist"


def graded_class(root, n, env, unsandboxed):
    """Grade a fresh class of ``n`` in ``root``: (seconds per student, batch wall seconds)."""
    bin_dir = Path(sys.executable).parent
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "source", root / "source", ignore=shutil.ignore_patterns("results*"))
    subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root, env=env, check=True, capture_output=True)
    for i in range(n):
        folder = root / "submitted" / f"student{i:02d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        step = "release" if i % 3 == 2 else "source"
        shutil.copy(root / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
    env = dict(env, GAN_UNSANDBOXED_AUTOGRADE="1") if unsandboxed else env
    started = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "scripts" / "autograde_all.py"), ASSIGNMENT, "--root", str(root)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    with open(root / "autograde_report.csv") as f:
        return [float(row["seconds"]) for row in csv.DictReader(f)], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    seconds = {"sandboxed": [], "unsandboxed": []}
    sandboxed_wall = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for way in (["sandboxed", "unsandboxed"] if r % 2 == 0 else ["unsandboxed", "sandboxed"]):
                per_student, wall = graded_class(Path(tmp) / f"{way}{r}", args.students, env, way == "unsandboxed")
                seconds[way] += per_student
                sandboxed_wall += wall if way == "sandboxed" else 0.0
    medians = {way: statistics.median(values) for way, values in seconds.items()}
    print(json.dumps({"submissions_each_way": len(seconds["sandboxed"]),
                      "median_s_per_submission_sandboxed": medians["sandboxed"],
                      "median_s_per_submission_unsandboxed": medians["unsandboxed"],
                      "sandbox_cost_ratio": round(medians["sandboxed"] / medians["unsandboxed"], 3),
                      "sandboxed_wall_s_per_submission": round(sandboxed_wall / len(seconds["sandboxed"]), 1),
                      "cpus": os.cpu_count(), "machine": platform.machine()}))


if __name__ == "__main__":
    main()
