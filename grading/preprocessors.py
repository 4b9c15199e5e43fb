"""nbgrader preprocessors for this course's feedback, named in nbgrader_config.py.

HideTestTracebacks: nbgrader's ClearHiddenTests removes the hidden tests from the test cells'
source in feedback, but a failing hidden test's traceback still quotes the lines around it. In
feedback, an error in a test cell is cut down to its last line: the assertion message, which says
what to fix.

(What autograde runs is built by grading/rebuild.py, its scores saved by grading/verdicts.py.)
"""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution


class HideTestTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
