"""nbgrader preprocessors for this course, named in nbgrader_config.py.

HideTestTracebacks: nbgrader's ClearHiddenTests removes the hidden tests from the test cells'
source in feedback, but a failing hidden test's traceback still quotes the lines around it. In
feedback, an error in a test cell is cut down to its last line: the assertion message, which says
what to fix.

DeduplicateIds: nbgrader 0.9.6's DeduplicateIds keeps the last cell of a repeated grade_id and empties
the nbgrader metadata of the others, on which OverwriteCells then fails (KeyError: 'grade_id'): a
student who copies a graded cell gets nothing. Here the other copies become plain cells.

RestoreDeletedTests: nbgrader 0.9.6's OverwriteCells re-inserts a deleted test cell after the source
cell just before it, but looks that cell up among grade and solution cells only; when it is a
read-only cell (the data loader before test_data_range, say), autograde fails with a KeyError and
the student gets nothing. This version puts the test back after the nearest earlier nbgrader
cell that the submission still has, whatever its kind. And where nbgrader meets a grade_id the
gradebook does not know (a renamed cell), it drops only the grade_id and then fails on the rest
(KeyError: 'grade_id'); here the cell becomes a plain cell, and the real one comes back as deleted.
"""
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade, is_solution


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class DeduplicateIds(nbgrader_preprocessors.DeduplicateIds):
    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class RestoreDeletedTests(OverwriteCells):
    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = list(source_nb.source_cells)
        grade_ids = {cell.name: cell for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for position, source_cell in enumerate(source_cells):
            present = [_grade_id(cell) for cell in nb.cells]
            if source_cell.name not in grade_ids or source_cell.name in present:
                continue
            self.log.warning(f"Missing grade cell {source_cell.name} encountered, adding to notebook")
            restored = self.missing_cell_transform(source_cell, grade_ids[source_cell.name].max_score,
                                                   is_solution=source_cell.name in solution_ids)
            earlier = [c.name for c in source_cells[:position] if c.name in present]
            index = present.index(earlier[-1]) + 1 if earlier else 0
            nb.cells.insert(index, restored)
        return nb, resources


class HideTestTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
