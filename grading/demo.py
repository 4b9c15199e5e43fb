"""Write the two demo students' submissions, in the demo class's own course root demo/, from its
release and source notebooks (demo/source links to the course's source/; `make demo` generates demo/release first).

Usage (from the course root): .venv/bin/python -m grading.demo   (run by `make demo`, which then autogrades
them in demo/), then .venv/bin/python -m grading.demo grade: their written answers graded by hand, as a TA does in
formgrader (``WRITTEN_GRADES``), so that their feedback shows graded answers.

- demo_complete: the release notebook with every solution and written answer filled in from
  source/, plus results/ images of a full 50-epoch run (kept in the repository), packed into the
  notebook too as the full run's last section does (``helpers.handin``).
- demo_partial: the release notebook with only the transform, the generator and Task 1 done.
"""
import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from traitlets.config import PyFileConfigLoader

from helpers.handin import packed_output

DEMO = "demo"  # the demo class's course root, in the course root
ASSIGNMENT = "gan_mnist"
PARTIAL_ANSWERS = {"transform", "generator", "task1_answer"}
# {student: {written answer: (points, the TA's comment)}}: the answers each demo student wrote (the unanswered
# ones score 0 without a person).
WRITTEN_GRADES = {
    "demo_complete": {
        "task1_answer": (4, "All four: both losses right, the dead-unit argument for G and D, the count layer by layer, "
                            "and the locality that flattening loses, seen in your own grid."),
        "task2_answer": (4, "Your own figures throughout (D(x) 0.36-0.73, the epoch-3 minimum 0.131), and the "
                            "gradient comparison worked out."),
        "task4_answer": (3.5, "A careful reading of the three grids with the figures quoted; the mode-collapse point "
                              "needs your own grid, not only the coverage figure."),
    },
    "demo_partial": {
        "task1_answer": (4, "All four right."),
    },
}


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


def grade_written_answers(root):
    """Enter ``WRITTEN_GRADES`` in the course ``root``'s gradebook as formgrader does: the score, the comment, and
    the answer no longer waiting for a person."""
    db_url = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().CourseDirectory.db_url  # as nbgrader's
    with Gradebook(db_url) as gradebook:
        for student, answers in WRITTEN_GRADES.items():
            for answer, (points, comment) in answers.items():
                grade = gradebook.find_grade(answer, ASSIGNMENT, ASSIGNMENT, student)
                grade.manual_score, grade.needs_manual_grade = points, False
                gradebook.find_comment(answer, ASSIGNMENT, ASSIGNMENT, student).manual_comment = comment
        gradebook.db.commit()
    print(f"graded the written answers of {', '.join(WRITTEN_GRADES)}")


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", choices=["submit", "grade"], default="submit",
                        help="write the submissions (default), or grade their written answers by hand")
    grade_written_answers(Path.cwd() / DEMO) if parser.parse_args().step == "grade" else main()
