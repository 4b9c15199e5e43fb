"""release/ is the student version of source/: in sync, with no solutions or hidden tests, and it validates as unfinished."""
import filecmp

import nbformat
from nbgrader.validator import Validator
from traitlets.config.loader import PyFileConfigLoader

from conftest import ASSIGNMENT, autograded_test_points, nbgrader, nbgrader_cells

SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def test_release_is_what_generate_assignment_makes_from_source(course_copy):
    committed = course_copy / "release"
    regenerated = course_copy.parent / "regenerated"
    committed.rename(regenerated)
    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=course_copy)
    comparison = filecmp.dircmp(course_copy / "release" / ASSIGNMENT, regenerated / ASSIGNMENT)
    assert not (comparison.left_only or comparison.right_only), "release/ has other files than source/ makes: run `make release`"
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files, shallow=False)
    assert not mismatch and not errors, f"release/ is out of date ({mismatch + errors}): run `make release` and commit it"


def test_release_holds_no_solutions_and_no_hidden_tests(release_nb):
    text = "\n".join(cell.source for cell in release_nb.cells)
    for marker in SOLUTION_MARKERS:
        assert marker not in text
    for cell in release_nb.cells:
        assert not cell.get("outputs"), "release notebooks are handed out without outputs"


def test_every_solution_is_a_stub_in_the_release(source_nb, release_nb):
    source, release = nbgrader_cells(source_nb), nbgrader_cells(release_nb)
    assert source.keys() == release.keys()
    solutions = [gid for gid, cell in source.items() if cell.metadata.nbgrader["solution"]]
    assert len(solutions) == 8  # transform, generator, discriminator, train_step, Task 3 and three written answers
    for gid in solutions:
        stub = "YOUR ANSWER HERE" if source[gid].cell_type == "markdown" else "raise NotImplementedError()"
        assert stub in release[gid].source, gid


def test_grading_metadata_is_consistent(source_nb):
    ids = [c.metadata.nbgrader["grade_id"] for c in source_nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "every grade_id must be unique"
    assert source_nb.metadata.kernelspec.name == "python3"
    tests = [c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader["solution"]]
    for cell in tests:
        assert cell.cell_type == "code" and cell.metadata.nbgrader["locked"], cell.metadata.nbgrader["grade_id"]
        assert cell.source.startswith('"""Check'), f"{cell.metadata.nbgrader['grade_id']} should start with a one-line docstring"
    manual = [c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.metadata.nbgrader["solution"]]
    assert [c.metadata.nbgrader["grade_id"] for c in manual] == ["task1_answer", "task2_answer", "task4_answer"]
    assert all(points > 0 for points in autograded_test_points(source_nb).values())
    assert all(c.metadata.nbgrader["points"] > 0 for c in manual)


def course_validator(course_root):
    """The Validator as the Validate button runs it: with the course's nbgrader_config.py (cell timeout, kernel)."""
    return Validator(config=PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config())


def test_validator_passes_the_solution_and_fails_the_release(course_copy, source_nb):
    validator = course_validator(course_copy)
    assert validator.validate(str(course_copy / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")) == {}
    failed = validator.validate(str(course_copy / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))["failed"]
    graded = [c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(failed) == len(graded), "every test and every written answer should fail in the untouched release"


def test_validating_a_copy_leaves_the_release_file_unchanged(course_copy, release_nb):
    path = course_copy / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    course_validator(course_copy).validate(str(path))
    assert nbformat.read(path, as_version=4) == release_nb
