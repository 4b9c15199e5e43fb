"""Seconds to autograde one submission with real nbgrader, in a scratch copy of the course.

Usage: .venv/bin/python benchmarks/autograde_time.py [--repeats 3]

Each repeat autogrades one more student (who submitted the instructor's solution) with
`nbgrader autograde gan_mnist --student S`: kernel start, the short training profile and every
hidden test. Prints the times, then one JSON line with the median.
"""
import argparse
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


def nbgrader(*args, cwd):
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=cwd, env=env, check=True, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", root)
        shutil.copytree(REPO / "source", root / "source", ignore=shutil.ignore_patterns("results*"))
        nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
        seconds = []
        for i in range(repeats):
            student = f"student{i}"
            folder = root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            shutil.copy(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
            started = time.perf_counter()
            nbgrader("autograde", ASSIGNMENT, "--student", student, cwd=root)
            seconds.append(time.perf_counter() - started)
            print(f"{student}: {seconds[-1]:.1f} s", flush=True)
    print(json.dumps({"autograde_s_per_submission_median": round(statistics.median(seconds), 1),
                      "repeats": repeats, "cpus": os.cpu_count(), "machine": platform.machine()}))


if __name__ == "__main__":
    main()
