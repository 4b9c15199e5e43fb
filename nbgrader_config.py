"""nbgrader configuration for the GAN-on-MNIST course (run nbgrader from this folder)."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "gan-mnist-lab"
c.CourseDirectory.root = COURSE_ROOT
# One instructor: the sqlite file gradebook.db. Several graders, or grading on more than one worker: a PostgreSQL
# database (`make postgres` starts one and prints its URL; grading/gradebook.py).
c.CourseDirectory.db_url = os.environ.get("GRADEBOOK_URL") or "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")
# results_quick/ is what the short grading run writes, checkpoint.pt the full run's 24 MB checkpoint
# (helpers/checkpoint.py): never collect or copy them. (results/generator_epoch_N.pt, 3 MB each, are kept:
# the grader measures Task 4's figures from them.)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "results_quick", "checkpoint.pt"]

# Students' Validate runs their notebook in their own Python 3 kernel. Autograde (the CLI, `make autograde`,
# formgrader's button) runs it only in the gan-sandbox kernel that `make sandbox` installs and refuses
# otherwise (grading/sandbox.py; docs/sandbox.md). Each cell may use 60 s of CPU time in the sandbox (the
# slowest cell of the short grading run takes about 5 s here), however long a busy machine makes it wait; the
# sandbox's own limits, the notebook's wall-clock time among them, are SandboxedExecute's settings.
c.Execute.kernel_name = "python3"
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.iopub_timeout = 60  # a cell's last outputs after its reply: nbclient's 4 s fail a cell on a busy machine
c.LimitOutput.max_lines = 1000

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# What runs is the course's notebook with only the student's answers put in (grading/rebuild.py): deleted,
# edited, copied or renamed cells change nothing and are reported; a notebook uploaded without its results/
# brings the figures packed in it (grading/unpack.py); the student's code is read first
# (grading/screening.py) and anything reaching into the grader means "needs review".
c.Autograde.sanitize_preprocessors = [
    "grading.sandbox.CheckSubmittedFiles",
    "grading.rebuild.RebuildFromSource",
    "grading.unpack.UnpackResults",
    "grading.rebuild.ScreenStudentCode",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Each task's rubric is a BEGIN/END MARK SCHEME region of its (locked) question cell: the release and the
# feedback leave it out, the autograded notebook that graders open in formgrader keeps it above the answer.
c.ClearMarkScheme.enforce_metadata = False  # nbgrader expects it in a "task" cell; ours are question + answer cells

# Scores are saved by grading.verdicts.SaveVerdicts: only what the trusted re-check of the hidden tests'
# evidence supports, 0 and flagged for review where the code needs it; hidden tests stay out of the
# feedback students get.
c.Autograde.autograde_preprocessors = [
    "grading.sandbox.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "grading.verdicts.SaveVerdicts",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Late work (grading/late.py): the due date is the gradebook's (`nbgrader db assignment add gan_mnist --duedate=...`);
# each started day after it (15 minutes' grace) takes 10% of the autograded score off.
c.AssignLatePenalties.plugin_class = "grading.late.LatePenalty"
c.LatePenalty.percent_per_day = 10.0
c.LatePenalty.grace_minutes = 15.0

# Feedback waits until every written answer (and every test flagged for review) of the student is graded by hand
# (grading/preprocessors.py: RequireManualGrades; `make feedback RELEASE_UNGRADED=1` releases anyway).
c.GenerateFeedback.preprocessors = [
    "grading.preprocessors.RequireManualGrades",
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "grading.preprocessors.HideTestTracebacks",
    "grading.preprocessors.HideGradersNotes",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Formgrader's grading view and the feedback HTML both render students' notebooks with this
# HTMLExporter: markdown (written answers included) and outputs are sanitised, no student script
# runs in a grader's or a student's browser (grading/sanitize.py says why each line is needed).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "grading.sanitize.Markdown2HTML", "clean_html": "grading.sanitize.clean_html"}
c.HTMLExporter.preprocessors = ["grading.sanitize.NumericImageSizes"]

# A student's results/ images and measured figures (Task 4) must survive autograde even if the instructor's
# source/ folder has its own results/ from running the solution notebook.
LAB_IMAGES = ([f"results/epoch_{n}.png" for n in range(5, 51, 5)] + [f"results/generator_epoch_{n}.pt" for n in (10, 20, 30, 50)]
              + ["results/final_grid.png", "results/loss_curve.png", "results/training.gif", "results/interpolation.png",
                 "results/quality.json", "results/seed.txt"])
c.Autograde.exclude_overwriting = {"gan_mnist": LAB_IMAGES}

# The LMS round trip (grading/lms.py): Canvas's and Moodle's "download all submissions" zips, put in
# downloaded/gan_mnist/archive/, become submitted/<LMS id>/gan_mnist/ (`make lms-collect`); `make lms-export`
# writes grades-lms.csv for the LMS's gradebook import.
c.ZipCollectApp.collector_plugin = "grading.lms.LmsCollector"

# The exchange (the course's JupyterHub, hub/): collect only what a student's own account submitted, never
# through a link, dated by the file system when the submission's claimed time disagrees (grading/exchange.py).
c.ExchangeFactory.collect = "grading.exchange.TrustedCollect"
