"""Seconds per submission when the instructor autogrades a class, measured with real nbgrader.

Usage: .venv/bin/python benchmarks/autograde_batch.py [--students 30]

Builds a scratch copy of the course with N submissions (every third one the untouched release,
the rest the instructor's solution), grades them with the instructor's command
(scripts/autograde_all.py: one sandboxed nbgrader run per student, progress bar, report), and
prints one JSON line: the batch's wall time and the median seconds of one student's autograde.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    n = parser.parse_args().students
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", root)
        shutil.copytree(REPO / "source", root / "source", ignore=shutil.ignore_patterns("results*"))
        subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                       cwd=root, env=env, check=True, capture_output=True)
        for i in range(n):
            folder = root / "submitted" / f"student{i:02d}" / ASSIGNMENT
            folder.mkdir(parents=True)
            step = "release" if i % 3 == 2 else "source"
            shutil.copy(root / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
        started = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "scripts" / "autograde_all.py"), ASSIGNMENT, "--root", str(root)],
                       env=env, check=True)
        wall = time.perf_counter() - started
        with open(root / "autograde_report.csv") as f:
            per_student = [float(row["seconds"]) for row in csv.DictReader(f)]
    print(json.dumps({"submissions": n, "wall_s": round(wall, 1), "median_s_per_submission": statistics.median(per_student),
                      "wall_s_per_submission": round(wall / n, 1), "cpus": os.cpu_count(), "machine": platform.machine()}))


if __name__ == "__main__":
    main()
