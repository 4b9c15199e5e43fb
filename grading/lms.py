"""The LMS round trip: Canvas's and Moodle's submission downloads in (`nbgrader zip_collect`), a gradebook CSV out.

In: put the LMS's "download all submissions" zip in ``downloaded/<assignment>/archive/`` and run
``nbgrader zip_collect <assignment>`` (``make lms-collect``). :class:`LmsCollector` (configured in
``nbgrader_config.py``) knows both file layouts, with the LMS's numeric id as the student id:

- Canvas: ``doejane_12345_67890_gan_mnist.ipynb`` (``doejane_LATE_12345_...`` when late; a re-upload is
  ``gan_mnist-1.ipynb``): user id 12345, attachment 67890;
- Moodle: ``Jane Doe_1234567_assignsubmission_file_/gan_mnist.ipynb`` (or, without folders,
  ``Jane Doe_1234567_assignsubmission_file_gan_mnist.ipynb``): participant 1234567.

Whatever the student called the notebook, it is filed as the assignment's notebook (an LMS takes one upload
per student), and the log says so when the name differs. The notebook's figures travel inside it
(``helpers.handin``, ``grading/unpack.py``).

Out: :class:`LmsExport` (``make lms-export``: ``nbgrader export --exporter=grading.lms.LmsExport``) writes
``grades-lms.csv``: one row per student and assignment with the score of each part of the notebook (its
numbered sections and tasks, read from the source notebook's headings), the late penalty, the total and
the maximum, ready for an LMS gradebook's CSV import.
"""
import csv
import os
import re

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExportPlugin, FileNameCollectorPlugin
from traitlets import List, Unicode

CANVAS = (r".*/(?P<name>[^/]+?)(?:_LATE)?_(?P<student_id>\d+)_(?P<attachment_id>\d+)_"
          r"(?P<file_id>[^/]+?)\.ipynb$")
MOODLE = (r".*/(?P<full_name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file_"
          r"(?:/(?:.*/)?)?(?P<file_id>[^/]+?)\.ipynb$")
PART_HEADING = re.compile(r"^#{2,3} +((?:\d+\.|Task \d+:?) [^(\n]*?)\s*(?:\(.*)?$", re.M)


class LmsCollector(FileNameCollectorPlugin):
    """``zip_collect``'s collector for Canvas and Moodle downloads: the first of ``named_regexps`` that matches."""

    named_regexps = List(Unicode(), [CANVAS, MOODLE], help="Regular expressions tried in turn on each file's "
                         "path; each needs the groups student_id and file_id").tag(config=True)
    notebook = Unicode("", help="The assignment's notebook: every collected notebook is filed under this name "
                       "(default: the assignment's, as `nbgrader zip_collect <assignment>` names it)").tag(config=True)

    def collect(self, submitted_file):
        if os.path.splitext(submitted_file)[1] not in self.valid_ext:
            return None
        notebook = self.notebook or self.parent.coursedir.assignment_id
        for regexp in self.named_regexps:
            match = re.match(regexp, submitted_file)
            if match:
                info = match.groupdict()
                if info["file_id"] != notebook:
                    self.log.warning("%s: filed as %s.ipynb", submitted_file, notebook)
                info["file_id"] = notebook
                return info
        self.log.warning("Not a Canvas or Moodle submission file name, skipped: %s", submitted_file)
        return None


def parts(source_nb):
    """{grade_id: part} for the graded cells with points: a part is the numbered section ("2. Data") or the
    task ("Task 1: the model") whose heading comes last before the cell."""
    found, part = {}, None
    for cell in source_nb.cells:
        if cell.cell_type == "markdown":
            headings = PART_HEADING.findall(cell.source)
            part = headings[-1].rstrip(": ") if headings else part
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("points"):
            found[meta["grade_id"]] = part
    return found


class LmsExport(ExportPlugin):
    """A CSV for an LMS gradebook: the score of each part, the late penalty, the total."""

    def export(self, gradebook):
        coursedir = CourseDirectory(config=self.config)
        dest = self.to or "grades-lms.csv"
        rows = []
        for assignment in gradebook.assignments:
            if self.assignment and assignment.name not in self.assignment:
                continue
            for notebook in assignment.notebooks:
                source = os.path.join(coursedir.format_path(coursedir.source_directory, ".", assignment.name),
                                      f"{notebook.name}.ipynb")
                part_of = parts(nbformat.read(source, as_version=4))
                maxima = {}
                for cell in notebook.grade_cells:
                    if cell.name in part_of:
                        maxima[part_of[cell.name]] = maxima.get(part_of[cell.name], 0) + cell.max_score
                rows += [self._row(gradebook, assignment, notebook, student, part_of, maxima)
                         for student in gradebook.students if not self.student or student.id in self.student]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
        self.log.info("wrote %s (%d rows)", dest, len(rows))

    @staticmethod
    def _row(gradebook, assignment, notebook, student, part_of, maxima):
        row = {"assignment": assignment.name, "student_id": student.id, "last_name": student.last_name or "",
               "first_name": student.first_name or "", "email": student.email or ""}
        try:
            submission = gradebook.find_submission_notebook(notebook.name, assignment.name, student.id)
        except MissingEntry:
            submission = None
        scores = {part: 0.0 for part in maxima}
        for grade in submission.grades if submission else []:
            if grade.name in part_of:
                scores[part_of[grade.name]] += grade.score
        row.update({f"{part} ({maxima[part]:g})": f"{score:g}" for part, score in scores.items()})
        raw = sum(scores.values())
        penalty = (submission.late_submission_penalty or 0.0) if submission else 0.0
        row.update(submitted="yes" if submission else "no", late_penalty=f"{penalty:g}",
                   total=f"{max(0.0, raw - penalty):g}", max_total=f"{sum(maxima.values()):g}",
                   needs_manual_grade="yes" if submission and submission.needs_manual_grade else "no")
        return row
