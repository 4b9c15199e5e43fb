"""nbgrader configuration for the GAN-on-MNIST course (run nbgrader from this folder)."""
import os

from jupyter_client.kernelspec import KernelSpecManager

c = get_config()  # noqa: F821 (provided by nbgrader)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "gan-mnist-lab"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")
# results_quick/ is what the short grading run writes, *.pt the full run's 24 MB checkpoint
# (helpers/checkpoint.py): never collect or copy them.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "results_quick", "*.pt"]

# Notebooks run in the course's Python 3 kernel, each cell for at most 60 s (the slowest cell of the
# short grading run takes about 5 s here). Once `make sandbox` has installed the gan-sandbox kernel
# (sandbox/kernel.sh: bubblewrap, only the submission's own folder writable, the rest of the course
# hidden, memory and CPU time capped), autograde and validate run students' code in it.
SANDBOX_KERNEL = "gan-sandbox"
sandboxed = SANDBOX_KERNEL in KernelSpecManager().find_kernel_specs()
c.Execute.kernel_name = SANDBOX_KERNEL if sandboxed else "python3"
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 1000

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Deleted test cells come back at autograde (with nbgrader's re-insertion mended, see
# grading/preprocessors.py); hidden tests stay out of the feedback students get.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grading.preprocessors.RestoreDeletedTests",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "grading.preprocessors.HideTestTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# A student's results/ images and measured figures (Task 4) must survive autograde even if the instructor's
# source/ folder has its own results/ from running the solution notebook.
LAB_IMAGES = [f"results/epoch_{n}.png" for n in range(5, 51, 5)] + ["results/final_grid.png", "results/loss_curve.png", "results/quality.json"]
c.Autograde.exclude_overwriting = {"gan_mnist": LAB_IMAGES}
