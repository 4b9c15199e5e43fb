"""release/ is the student version of source/: in sync, with no solutions or hidden tests, and it validates as unfinished."""
import filecmp
import shutil

import nbformat
from nbgrader.validator import Validator
from traitlets.config.loader import PyFileConfigLoader

from conftest import ASSIGNMENT, autograded_test_points, nbgrader, nbgrader_cells, points, total_points
from graded_class import DEMO_RESULTS

SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME", "Rubric")
REMINDER = "test_results_submitted"  # 0 points: Validate's reminder that results/ must go with the notebook


def test_release_is_what_generate_assignment_makes_from_source(course_copy):
    """Every assignment under source/, as `make release ASSIGNMENT=<name>` makes it."""
    committed = course_copy / "release"
    regenerated = course_copy.parent / "regenerated"
    committed.rename(regenerated)
    assignments = sorted(path.name for path in (course_copy / "source").iterdir() if path.is_dir())
    assert ASSIGNMENT in assignments
    for assignment in assignments:
        nbgrader("generate_assignment", assignment, "--force", cwd=course_copy)
    comparison = filecmp.dircmp(course_copy / "release", regenerated)
    assert not (comparison.left_only or comparison.right_only), "release/ has other assignments than source/ makes"
    for assignment in assignments:
        comparison = filecmp.dircmp(course_copy / "release" / assignment, regenerated / assignment)
        assert not (comparison.left_only or comparison.right_only), \
            f"release/{assignment} has other files than source/ makes: run `make release ASSIGNMENT={assignment}`"
        _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files,
                                               shallow=False)
        assert not mismatch and not errors, \
            f"release/{assignment} is out of date ({mismatch + errors}): run `make release ASSIGNMENT={assignment}`"


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
    # transform, generator, discriminator, optimizers, train_step, the training loop, Task 3 and three written answers
    assert len(solutions) == 10
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
    assert all(points > 0 for gid, points in autograded_test_points(source_nb).items() if gid != REMINDER)
    assert autograded_test_points(source_nb)[REMINDER] == 0
    assert all(c.metadata.nbgrader["points"] > 0 for c in manual)


def test_the_notebook_states_every_part_and_the_total(source_nb):
    """The intro's table gives the total, each "Your code" paragraph its points, and each rubric its task's points."""
    intro = source_nb.cells[0].source
    assert f"| **total** | | **{total_points(source_nb):g}** |" in intro
    cells = nbgrader_cells(source_nb)
    text = "\n".join(c.source for c in source_nb.cells if c.cell_type == "markdown")
    parts = {"transform": ["test_data_range"], "both classes": ["test_generator_shape", "test_generator_range",
             "test_generator_architecture", "test_discriminator_shape_range", "test_discriminator_architecture"],
             "`criterion`": ["test_optimizers"], "`train_step`": ["test_train_step_updates", "test_train_step_recipe"],
             "`train`": ["test_training_loop"]}
    for words, tests in parts.items():
        assert f"**Your code ({points(source_nb, tests):g} points):** " in text and words in text, words
    for task in ("1", "2", "4"):
        question = cells[f"task{task}_question"].source
        assert f"### Task {task}:" in question and f"({cells[f'task{task}_answer'].metadata.nbgrader['points']:g} points" in question
        assert "### BEGIN MARK SCHEME" in question and "Rubric" in question, f"Task {task} needs a rubric for the graders"


def course_validator(course_root):
    """The Validator as the Validate button runs it: with the course's nbgrader_config.py (cell timeout, kernel)."""
    return Validator(config=PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config())


def test_validator_passes_the_solution_and_fails_the_release(course_copy, source_nb):
    validator = course_validator(course_copy)
    solution = course_copy / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    shutil.copytree(DEMO_RESULTS, solution.parent / "results")  # a full run's results/, as the demo student submitted it
    assert validator.validate(str(solution)) == {}
    failed = validator.validate(str(course_copy / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))["failed"]
    graded = [c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(failed) == len(graded), "every test and every written answer should fail in the untouched release"
    assert any("lacks epoch_10.png" in cell["error"] for cell in failed), "Validate's reminder that results/ is missing"


def test_validating_a_copy_leaves_the_release_file_unchanged(course_copy, release_nb):
    path = course_copy / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    course_validator(course_copy).validate(str(path))
    assert nbformat.read(path, as_version=4) == release_nb
