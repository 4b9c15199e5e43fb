"""nbgrader preprocessors for this course's feedback, named in nbgrader_config.py.

HideTestTracebacks: nbgrader's ClearHiddenTests removes the hidden tests from the test cells'
source in feedback, but a failing hidden test's traceback still quotes the lines around it. In
feedback, an error in a test cell is cut down to its last line: the assertion message, which says
what to fix.

HideGradersNotes: autograde's "Grader's notes" cell and the Task 4 lines that name copied images are
for the course's staff (they name the instructor's folders and what the screening found); feedback
leaves out every cell and output marked ``graders_only`` (grading/verdicts.py marks them).

(What autograde runs is built by grading/rebuild.py, its scores saved by grading/verdicts.py.)
"""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from .rebuild import GRADERS_ONLY, GRADING_METADATA


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
