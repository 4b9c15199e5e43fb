"""Write the two demo students' submissions, in the demo class's own course root demo/, from its
release and source notebooks (demo/source links to the course's source/; `make demo` generates demo/release first).

Usage (from the course root): .venv/bin/python -m grading.demo   (run by `make demo`, which then grades
them in demo/)

- demo_complete: the release notebook with every solution and written answer filled in from
  source/, plus results/ images of a full 50-epoch run (kept in the repository), packed into the
  notebook too as the full run's last section does (``helpers.handin``).
- demo_partial: the release notebook with only the transform, the generator and Task 1 done.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_output

from helpers.handin import packed_output

DEMO = "demo"  # the demo class's course root, in the course root
ASSIGNMENT = "gan_mnist"
PARTIAL_ANSWERS = {"transform", "generator", "task1_answer"}


def filled(release, source, grade_ids=None):
    """``release`` with the solution cells in ``grade_ids`` (all if None) taken from ``source``, markers removed."""
    solutions = {c.metadata.nbgrader["grade_id"]: c for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions and (grade_ids is None or grade_id in grade_ids):
            lines = solutions[grade_id].source.splitlines()
            cell.source = "\n".join(line for line in lines if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return release


def with_packed_results(nb, results_dir):
    """``nb`` with the output that the pack_results cell shows after a full run that wrote ``results_dir``."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "pack_results")
    cell.outputs = [new_output("display_data", data=packed_output(results_dir))]
    return nb


def read_step(root, step):
    """The assignment's notebook in the course root's source/ or release/."""
    return nbformat.read(Path(root) / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def main():
    demo = Path.cwd() / DEMO
    for student, grade_ids in [("demo_complete", None), ("demo_partial", PARTIAL_ANSWERS)]:
        folder = demo / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nb = filled(read_step(demo, "release"), read_step(demo, "source"), grade_ids)
        if grade_ids is None:
            nb = with_packed_results(nb, folder / "results")
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
        print(f"wrote {folder / f'{ASSIGNMENT}.ipynb'}")


if __name__ == "__main__":
    main()
