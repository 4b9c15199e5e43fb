"""JupyterLab and formgrader in headless Chromium, for the browser tests (``make ui-test``).

``JupyterServer`` starts the venv's ``jupyter lab`` (with nbgrader's extensions) on a free local
port, serving a temporary folder; ``browser_page`` opens Debian's Chromium through Playwright;
``Steps`` saves a screenshot after every step to ``ui-artifacts/<test>/`` and, when a step fails,
names the screenshot of the failure in the error; ``grade_by_hand`` scores an answer in formgrader and waits for
what it saved.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, REPO, VENV_BIN

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "ui-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """``jupyter lab`` serving ``root`` (a temporary copy: Validate saves notebooks) on 127.0.0.1."""

    def __init__(self, root: Path, home: Path):
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", HOME=str(home),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
        self.log = open(home / "jupyter.log", "w")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--IdentityProvider.token=", "--ServerApp.password=",
             "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter lab did not start; its log: {home / 'jupyter.log'}")
                time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@contextmanager
def chromium():
    """Headless Debian Chromium through Playwright (Playwright's own browser download fails offline)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} not found: run `make ui-deps` (installs Debian's chromium as root)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page():
    """A Playwright page in headless Debian Chromium."""
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 1000})


class Steps:
    """Numbered steps with a screenshot each: ``with steps("open the notebook"): ...``."""

    def __init__(self, page, test_name: str):
        self.page, self.n = page, 0
        self.folder = ARTIFACTS / test_name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    @contextmanager
    def __call__(self, name: str):
        self.n += 1
        path = self.folder / f"{self.n:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        try:
            yield
        except Exception as err:
            self.page.screenshot(path=str(path.with_name(path.stem + "-FAILED.png")))
            raise AssertionError(f"step {self.n} '{name}' failed: {err}\nscreenshot: "
                                 f"{path.with_name(path.stem + '-FAILED.png')}") from err
        self.page.screenshot(path=str(path))


def grade_by_hand(page, root, student, grade_id, score, comment, timeout=60):
    """Score and comment one answer in formgrader's open grading view, as a grader types them; the
    (manual score, comment) the gradebook then holds, once formgrader has saved both."""
    # The inputs are in the page before formgrader has fetched the grades and bound its saving to them:
    # typed earlier, nothing is saved (seen on a loaded machine).
    page.wait_for_function("window.formgrader && formgrader.grades.loaded && formgrader.comments.loaded",
                           timeout=timeout * 1000)
    page.fill(f"#{grade_id}", str(score))
    page.fill(f"#{grade_id}-comment", comment)
    page.locator(f"#{grade_id}-comment").press("Tab")  # formgrader saves on leaving the field
    deadline = time.time() + timeout
    while True:
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            grade = next(g for g in notebook.grades if g.name == grade_id)
            comment = next(c for c in notebook.comments if c.name == grade_id)
            found = (grade.manual_score, comment.manual_comment)
        if found[0] is not None and found[1] or time.time() > deadline:
            return found
        time.sleep(0.5)
