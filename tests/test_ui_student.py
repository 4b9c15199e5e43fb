"""A student in JupyterLab: open the release notebook, run it, press nbgrader's Validate button (the completed
copy has a full run's results/ beside it, which Validate asks for: tests/test_release.py).

Served from a temporary copy of release/gan_mnist/ (Validate saves the notebook) next to a copy
completed with the solutions, as a student's would be.
"""
import shutil

import nbformat
import pytest

from browser import JupyterServer, Steps, browser_page
from conftest import ASSIGNMENT, RELEASE_NB, REPO
from graded_class import DEMO_RESULTS
from grading.demo import filled, read_step

pytestmark = [pytest.mark.slow, pytest.mark.browser]

KERNEL_IDLE = "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
# The outputs of every code cell from the notebook's model (JupyterLab only renders the cells in view).
CELL_OUTPUTS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells, outputs = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code') outputs.push(JSON.stringify(cell.outputs.toJSON()));
  }
  return outputs;
}"""


@pytest.fixture
def lab(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(RELEASE_NB.parent, root / "release" / ASSIGNMENT)
    shutil.copy(REPO / "nbgrader_config.py", root)  # the course's own timeouts and kernel, as students get them
    done = root / "completed" / ASSIGNMENT
    done.mkdir(parents=True)
    nbformat.write(filled(read_step(REPO, "release"), read_step(REPO, "source")), done / f"{ASSIGNMENT}.ipynb")
    shutil.copytree(DEMO_RESULTS, done / "results")  # a full run's
    server = JupyterServer(root, tmp_path / "home")
    yield server
    server.stop()


def open_notebook(page, lab, path):
    page.goto(f"{lab.url}/lab/tree/{path}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=60_000)
    # The workspace may first restore a notebook opened before: wait until this one is in front.
    page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget?.context?.path === '{path}'", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def validate(page):
    """Press Validate; return 'success' or 'failed' from nbgrader's result dialog."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) jp-button.validate-button").click()  # the open tab's
    result = page.wait_for_selector(".nbgrader-SuccessDialog .validation-success, .nbgrader-ErrorDialog .validation-failed",
                                    timeout=300_000)
    return "success" if "validation-success" in result.get_attribute("class") else "failed"


def test_student_runs_and_validates(lab):
    with browser_page() as page:
        steps = Steps(page, "student")
        with steps("open the release notebook"):
            open_notebook(page, lab, f"release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
            assert not page.locator(".jp-Dialog").is_visible(), "a dialog (kernel picker?) opened with the notebook"
            assert page.locator(".jp-Notebook-ExecutionIndicator, .jp-KernelStatus").count() > 0
        with steps("run all cells"):
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
            # Run All stops at the first stub, the data transform's "YOUR CODE HERE": setup ran, transform raised.
            page.wait_for_function(f"() => ({CELL_OUTPUTS})()[1].includes('NotImplementedError')", timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            setup, transform = page.evaluate(CELL_OUTPUTS)[:2]
            assert "device: " in setup and "precision: " in setup and "ms a step here" in setup, setup
        with steps("validate the untouched release"):
            assert validate(page) == "failed"
        with steps("close the dialog"):
            page.locator(".jp-Dialog button.jp-mod-accept, .jp-Dialog .jp-Dialog-button").first.click()
        with steps("open the completed copy"):
            open_notebook(page, lab, f"completed/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
        with steps("validate the completed copy"):
            assert validate(page) == "success"

