"""nbgrader preprocessors for this course's feedback, named in nbgrader_config.py.

RequireManualGrades: feedback is withheld from a student while a cell of theirs waits for a person and has no score
from one yet (a written answer not graded, a test flagged for review): it would show 0 points for work nobody has
read. A cell graded by hand before a regrade keeps its score and does not hold the feedback back.
The instructor grades those cells in formgrader first, or releases anyway (``make feedback RELEASE_UNGRADED=1``,
``--RequireManualGrades.release_ungraded=True``). It runs for `make feedback` and for formgrader's Generate
Feedback alike; nbgrader reports each withheld student and goes on with the others.

HideTestTracebacks: nbgrader's ClearHiddenTests removes the hidden tests from the test cells'
source in feedback, but a failing hidden test's traceback still quotes the lines around it. In
feedback, an error in a test cell is cut down to its last line: the assertion message, which says
what to fix.

HideGradersNotes: autograde's "Grader's notes" cell and the Task 4 lines that name copied images are
for the course's staff (they name the instructor's folders and what the screening found); feedback
leaves out every cell and output marked ``graders_only`` (grading/verdicts.py marks them).

(What autograde runs is built by grading/rebuild.py, its scores saved by grading/verdicts.py.)
"""
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool

from .rebuild import GRADERS_ONLY, GRADING_METADATA


RELEASE_UNGRADED = "--RequireManualGrades.release_ungraded=True"  # nbgrader's option that releases anyway


def waiting_for_a_grader(submitted_notebook):
    """The grade_ids of a submitted notebook's cells that wait for a person and have no score from one yet."""
    return sorted(grade.name for grade in submitted_notebook.grades
                  if grade.needs_manual_grade and grade.manual_score is None)


class UngradedAnswers(Exception):
    """Feedback withheld: cells of the submission still wait for a person."""


class RequireManualGrades(NbGraderPreprocessor):
    release_ungraded = Bool(False, help="Generate feedback even while written answers or flagged tests wait for "
                                        "a person (they show 0 points).").tag(config=True)

    def preprocess(self, nb, resources):
        if self.release_ungraded:
            return nb, resources
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            waiting = waiting_for_a_grader(gradebook.find_submission_notebook(ids["notebook"], ids["assignment"],
                                                                              ids["student"]))
        if waiting:
            withheld = (f"feedback for {ids['student']} withheld: {', '.join(waiting)} not graded yet. Grade them in "
                        "formgrader (Manual Grading), or release anyway: make feedback RELEASE_UNGRADED=1 "
                        f"(nbgrader: {RELEASE_UNGRADED})")
            self.log.error(withheld)  # one line of its own: nbgrader's traceback of the error below buries it
            raise UngradedAnswers(withheld)
        return nb, resources


class HideTestTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class HideGradersNotes(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if cell.metadata.get(GRADING_METADATA) != GRADERS_ONLY]
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if o.get("metadata", {}).get(GRADING_METADATA) != GRADERS_ONLY]
        return nb, resources
