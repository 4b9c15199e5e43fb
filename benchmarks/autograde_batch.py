"""Seconds per submission when the instructor autogrades a class, with the checks of grading/verdicts.py
and with nbgrader's own steps, side by side.

Usage: .venv/bin/python benchmarks/autograde_batch.py [--students 12] [--rounds 2]

Builds scratch copies of the course with N submissions each (every third one the untouched release,
the rest the instructor's solution with the demo class's results/ folder, so that Task 4's figures are
measured) and grades them with the instructor's command (grading/batch.py: one nbgrader run per
student, in the sandbox), in each round one course as configured ("verified": notebook rebuilt from
the source, code screened, trusted re-check, Task 4 figures by the grader) and one with nbgrader's own
sanitize and save steps ("nbgrader", as before those checks), in alternating order. Prints one JSON
line: the median seconds of one student's autograde each way, their ratio, and the verified batches'
wall time per submission. (Both ways run the same notebook, whose hidden tests save their evidence.)
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

from class_scale import scratch_env

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "gan_mnist"
DEMO_RESULTS = REPO / "demo" / "submitted" / "demo_complete" / ASSIGNMENT / "results"
NBGRADER_STEPS = """
c.Autograde.sanitize_preprocessors = ["grading.sandbox.CheckSubmittedFiles", "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds", "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells", "nbgrader.preprocessors.CheckCellMetadata"]
c.Autograde.autograde_preprocessors = [step.replace("grading.verdicts.SaveVerdicts", "nbgrader.preprocessors.SaveAutoGrades")
                                       for step in c.Autograde.autograde_preprocessors]
"""


def graded_class(root, n, env, verified):
    """Grade a fresh class of ``n`` in ``root``: (seconds per student, batch wall seconds)."""
    bin_dir = Path(sys.executable).parent
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    if not verified:
        with open(root / "nbgrader_config.py", "a") as config:
            config.write(NBGRADER_STEPS)
        env = dict(env, TMPDIR=str(root))  # nothing of theirs cleans up the evidence folders
    shutil.copytree(REPO / "source", root / "source", ignore=shutil.ignore_patterns("results*"))
    subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root, env=env, check=True, capture_output=True)
    for i in range(n):
        folder = root / "submitted" / f"student{i:02d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        step = "release" if i % 3 == 2 else "source"
        shutil.copy(root / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
        if step == "source":
            shutil.copytree(DEMO_RESULTS, folder / "results")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grading.batch", ASSIGNMENT, "--root", str(root)], cwd=REPO,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    with open(root / "autograde_report.csv") as f:
        return [float(row["seconds"]) for row in csv.DictReader(f)], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = scratch_env()
    seconds = {"verified": [], "nbgrader": []}
    verified_wall = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for way in (["verified", "nbgrader"] if r % 2 == 0 else ["nbgrader", "verified"]):
                per_student, wall = graded_class(Path(tmp) / f"{way}{r}", args.students, env, way == "verified")
                seconds[way] += per_student
                verified_wall += wall if way == "verified" else 0.0
    medians = {way: statistics.median(values) for way, values in seconds.items()}
    print(json.dumps({"submissions_each_way": len(seconds["verified"]),
                      "median_s_per_submission_verified": medians["verified"],
                      "median_s_per_submission_nbgrader": medians["nbgrader"],
                      "verification_cost_ratio": round(medians["verified"] / medians["nbgrader"], 3),
                      "verified_wall_s_per_submission": round(verified_wall / len(seconds["verified"]), 1),
                      "cpus": os.cpu_count(), "machine": platform.machine()}))


if __name__ == "__main__":
    main()
