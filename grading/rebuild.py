"""What autograde runs: the course's notebook with the student's answers put in, and their code read first.

Two sanitize steps (nbgrader_config.py), before anything runs:

- ``RebuildFromSource``: the notebook that is graded is the instructor's source notebook (solutions
  cleared to nbgrader's stubs) with only the student's solution cells and written answers put in,
  matched by ``grade_id``. Everything else (setup, test and read-only cells, the text, the plain cells)
  is the course's. What the student added, copied, renamed or moved is reported, not run: an added or
  edited plain cell, a ``grade_id`` the course does not know, a solution cell that appears twice (the
  last copy is graded, as it would be the live one in the student's own run), cells out of order, a
  missing answer (graded as unanswered).
- ``ScreenStudentCode``: each student code cell is read by ``grading.screening``; anything that reaches
  into the grader makes the submission "needs review": it still runs (for the instructor to see), but
  ``grading.verdicts.SaveVerdicts`` gives it 0 autograded points and flags it in formgrader.

Both leave what they found in the notebook's metadata (``gan_grading``: ``notes``, ``needs_review``),
which the execute step carries over to ``SaveVerdicts``.
"""
import copy
import os

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from traitlets import Bool

from .screening import findings, protected_names

GRADING_METADATA = "gan_grading"
GRADERS_ONLY = "graders_only"  # a cell or output marked {GRADING_METADATA: GRADERS_ONLY} stays out of feedback


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def grading_record(nb):
    """The notebook's ``gan_grading`` record (made on first use): notes and needs-review findings."""
    return nb.metadata.setdefault(GRADING_METADATA, {"notes": [], "needs_review": []})


def source_notebook_path(config, resources):
    """The instructor's source notebook of the notebook being graded."""
    coursedir = CourseDirectory(config=config)
    folder = coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"])
    return os.path.join(folder, f"{resources['nbgrader']['notebook']}.ipynb")


class RebuildFromSource(NbGraderPreprocessor):
    """Replace the submitted notebook by the course's, with the student's solution cells put in."""

    def preprocess(self, nb, resources):
        source = nbformat.read(source_notebook_path(self.config, resources), as_version=4)
        template, _ = ClearSolutions(config=self.config).preprocess(copy.deepcopy(source), {})
        solution_ids = [grade_id(c) for c in template.cells if is_solution(c)]
        known_ids = {grade_id(c) for c in template.cells if grade_id(c)}
        plain_code = {c.source.strip() for c in template.cells if c.cell_type == "code" and not grade_id(c)}
        notes = []

        answers, order = {}, []
        for number, cell in enumerate(nb.cells, 1):
            gid = grade_id(cell)
            if gid in solution_ids:
                if gid in answers:
                    notes.append(f"{gid} appears more than once (cells {answers[gid][0]} and {number}): "
                                 f"the last one was graded")
                answers[gid] = (number, cell.source)
                order.append(gid)
            elif gid and gid not in known_ids:
                notes.append(f"cell {number} has a grade_id the course does not know ({gid[:40]}): not run")
            elif not gid and cell.cell_type == "code" and cell.source.strip() and cell.source.strip() not in plain_code:
                notes.append(f"cell {number} was added or changed by the student: not run (the course's cells ran)")
        first_seen = list(dict.fromkeys(order))
        if first_seen != [gid for gid in solution_ids if gid in answers]:
            notes.append("the answer cells are out of the course's order: graded in the course's order")
        missing = [gid for gid in solution_ids if gid not in answers]
        if missing:
            notes.append(f"not found, graded as unanswered: {', '.join(missing)}")

        for cell in template.cells:
            if is_solution(cell) and grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)][1]
        grading_record(template)["notes"] = notes
        for note in notes:
            self.log.warning(note)
        return template, resources


class ScreenStudentCode(NbGraderPreprocessor):
    """Read every student code cell; name what reaches into the grader (``grading.screening``)."""

    enabled = Bool(True, help="Screen the student's code (switch off only to test the layers behind it).").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        protected = protected_names([(not is_solution(c), c.source) for c in code_cells])
        needs_review = []
        for position, cell in enumerate(code_cells):
            if is_solution(cell):
                needs_review += [f"{what} in {grade_id(cell)}" for what in findings(cell.source, protected[position])]
        grading_record(nb)["needs_review"] = needs_review
        for finding in needs_review:
            self.log.warning(f"needs review: {finding}")
        return nb, resources
