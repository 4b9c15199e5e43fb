"""Save the autograded scores, but only what the evidence supports (autograde's save step).

The trusted re-check and Task 4 are the GAN lab's (``SaveVerdicts.rechecked``, the assignments it knows): any
other assignment of the course has its scores saved as nbgrader's ``SaveAutoGrades`` saves them, with the
screening's "needs review" and the notes below.

``SaveVerdicts`` replaces nbgrader's ``SaveAutoGrades`` (nbgrader_config.py). Before scores are saved it
runs ``grading.recheck`` in a fresh process on the evidence that the hidden tests left during their own
cells (collected by grading.sandbox.SandboxedExecute, which also starts that process as the notebook
starts, so that Task 4 is measured while the notebook runs) and on the submission's ``results/``. Then:

- a submission whose code needs review (``grading.rebuild.ScreenStudentCode``) gets 0 for every
  autograded test, each marked as needing a manual grade, and the findings as the comment of the cell
  they are in: an instructor decides, in formgrader;
- a test that passed in the student's kernel but that the trusted re-check refutes gets 0, and a line under it
  that tells the student so (the feedback shows it), with the part to look at;
- Task 4's cell shows the student's images and the figures their run recorded beside those the grader
  measured again from the submitted weights (with the difference), whatever the student's kernel printed
  there, and names images copied from the demo class or the instructor's run;
- everything found goes into a "Grader's notes" cell at the top of the graded notebook and into its
  metadata (``gan_grading``, read by grading/batch.py's report), and the submission is flagged
  in formgrader when something needs a person. The notes cell and the copied-images lines are the graders'
  (they name the course's folders): the student's feedback leaves them out (grading.preprocessors).
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import SaveAutoGrades
from traitlets import Integer, List, Unicode

from .rebuild import GRADERS_ONLY, GRADING_METADATA, grade_id, source_notebook_path

REPO = Path(__file__).resolve().parent.parent
SAFE_TEXT = re.compile(r"[^\w .,:;()'=+\-/%>\[\]]")  # notes name the student's cells and code: no markup


def _plain(text):
    return SAFE_TEXT.sub("?", str(text))


def refuted_note(test_cell):
    """What the student reads under a test that passed in their kernel and that the trusted re-check refuted: that it
    scored 0, and the part to look at (the test's own docstring; the re-check's reason, which can name what the
    hidden tests check, stays in the graders' notes)."""
    checks = re.match(r'\s*"""(.+?)"""', test_cell.source, re.S)
    look_at = f"\nLook again at what this test checks: {checks.group(1).strip()}" if checks else ""
    return ("0 points: this test passed in your notebook, but when the grader checked again what your code computed,"
            f"\nthe result did not hold.{look_at}\n")


class SaveVerdicts(SaveAutoGrades):
    task4_cell = Unicode("task4_images", help="The locked cell that shows Task 4's images and figures.").tag(config=True)
    task4_samples = Integer(2000, help="Digits generated per Task 4 figure (the student's own run measures "
                                       "10,000; 2,000 come within about 3% of its FID in a fifth of the time).").tag(config=True)
    rechecked = List(Unicode(), ["gan_mnist"], help="The assignments whose hidden tests leave evidence for the "
                                                  "trusted re-check (grading.recheck: the GAN lab's reference "
                                                  "classes and Task 4).").tag(config=True)
    known_images = List(Unicode(), help="Folders of result images that others have seen (a student's images "
                                        "identical to one of them are flagged); by default the demo class's "
                                        "and the course's own results/.").tag(config=True)

    def preprocess(self, nb, resources):
        self._ids(resources)
        record = dict(resources.get(GRADING_METADATA) or {})
        evidence_dir = record.pop("evidence_dir", None)
        trusted = self._recheck(resources, record.pop("recheck", None), evidence_dir)
        self._needs_review = record.get("needs_review", [])
        self._trusted = trusted["verdicts"]
        self._refuted = []
        nb, resources = super().preprocess(nb, resources)

        task4 = trusted["task4"]
        self._show_task4(nb, task4)
        record.update(refuted=self._refuted, copied_images=task4["copied"], task4_problems=task4["problems"],
                      task4_figures=task4["figures"], task4_unconfirmed=task4["unconfirmed"], trusted=self._trusted)
        nb.metadata[GRADING_METADATA] = record
        needs_a_person = bool(self._needs_review or self._refuted or task4["copied"] or task4["unconfirmed"])
        self._notes_cell(nb, record)
        with Gradebook(self.db_url) as gradebook:
            notebook = gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
            notebook.flagged = needs_a_person
            gradebook.db.commit()
        return nb, resources

    def rechecks(self, resources):
        """Whether the notebook being graded is of an assignment with a trusted re-check."""
        return resources["nbgrader"]["assignment"] in self.rechecked

    def _recheck(self, resources, recheck, evidence_dir):
        """The trusted re-check's verdicts and Task 4 (``recheck``: its process, if started already); nothing
        to add for an assignment it does not know."""
        try:
            if not self.rechecks(resources):
                return {"verdicts": {}, "task4": {"copied": [], "problems": [], "figures": {}, "unconfirmed": [], "image": None}}
            recheck = recheck or self.start_recheck(resources)
            out, err = recheck.communicate(f"{evidence_dir or os.devnull}\n", timeout=600)
        finally:
            if evidence_dir:
                shutil.rmtree(evidence_dir, ignore_errors=True)
        if recheck.returncode != 0:
            raise RuntimeError(f"the trusted re-check failed: {err.strip()[-500:]}")
        return json.loads(out)

    def _ids(self, resources):
        self.notebook_id, self.assignment_id, self.student_id, self.db_url = (
            resources["nbgrader"][key] for key in ("notebook", "assignment", "student", "db_url"))

    def start_recheck(self, resources):
        """Start grading.recheck on this submission: it measures Task 4 at once, then waits on stdin for the
        evidence folder (grading.sandbox.SandboxedExecute starts it before the notebook runs)."""
        self._ids(resources)
        graded = Path(resources["metadata"]["path"])
        coursedir = CourseDirectory(config=self.config)
        own = Path(coursedir.format_path(coursedir.submitted_directory, self.student_id, self.assignment_id), "results").resolve()
        known = self.known_images or [str(p) for p in sorted(REPO.glob(f"demo/submitted/demo_*/{self.assignment_id}/results"))] + [
            str(Path(coursedir.root) / "results")]
        known = [k for k in known if Path(k).resolve() != own]
        args = [sys.executable, "-m", "grading.recheck", "-", source_notebook_path(self.config, resources),
                str(graded / "results"), "--samples", str(self.task4_samples), "--known", *known]
        return subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(REPO)})

    def _is_test(self, cell):
        return cell.cell_type == "code" and not cell.metadata.nbgrader.get("solution")

    def _add_score(self, cell, resources):
        super()._add_score(cell, resources)
        if not self._is_test(cell):
            return
        gid = grade_id(cell)
        grade = self.gradebook.find_grade(gid, self.notebook_id, self.assignment_id, self.student_id)
        trusted = self._trusted.get(gid)
        if self._needs_review:
            grade.auto_score, grade.needs_manual_grade = 0, True
        elif trusted and trusted["passed"] is False and grade.auto_score:
            grade.auto_score = 0
            self._refuted.append(f"{gid}: passed in the student's kernel, refuted by the trusted re-check: {trusted['message']}")
            cell.outputs.append(new_output("stream", name="stdout", text=refuted_note(cell)))
        self.gradebook.db.commit()

    def _add_comment(self, cell, resources):
        super()._add_comment(cell, resources)
        mine = [f for f in self._needs_review if f.endswith(f" in {grade_id(cell)}")]
        if mine:
            comment = self.gradebook.find_comment(grade_id(cell), self.notebook_id, self.assignment_id, self.student_id)
            comment.auto_comment = "Needs review (autograde gave 0 points, an instructor decides): " + "; ".join(
                _plain(f) for f in mine)
            self.gradebook.db.commit()

    def _show_task4(self, nb, task4):
        cell = next((c for c in nb.cells if grade_id(c) == self.task4_cell), None)
        if cell is None:
            return
        outputs = [new_output("display_data", data={"image/png": task4["image"], "text/plain": "<the epoch images>"})
                   ] if task4["image"] else []
        lines = ["Your run's figures (results/quality.json), the grader's re-measure from the submitted weights "
                 "(results/generator_epoch_N.pt) and the difference:",
                 task4["table"]] + [f"! {_plain(p)}" for p in task4["problems"]]
        outputs.append(new_output("stream", name="stdout", text="\n".join(lines) + "\n"))
        if task4["copied"]:  # for the graders (it names their folders), not in the student's feedback
            outputs.append(new_output("display_data", data={"text/plain": "\n".join(f"! {_plain(p)}" for p in task4["copied"])},
                                      metadata={GRADING_METADATA: GRADERS_ONLY}))
        cell.outputs = outputs

    def _notes_cell(self, nb, record):
        sections = [("Needs review: autograde gave 0 points, an instructor decides", record.get("needs_review", [])),
                    ("Refuted by the trusted re-check (scored 0)", self._refuted),
                    ("Copied images", record["copied_images"]),
                    ("Task 4", record["task4_problems"]),
                    ("How the notebook was graded", record.get("notes", []))]
        text = [f"**{title}**\n\n" + "\n".join(f"- {_plain(item)}" for item in items) for title, items in sections if items]
        if text:
            nb.cells.insert(0, new_markdown_cell("## Grader's notes (autograde)\n\n" + "\n\n".join(text),
                                                 metadata={GRADING_METADATA: GRADERS_ONLY}))
