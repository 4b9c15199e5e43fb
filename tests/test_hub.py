"""The semester loop through the course's real JupyterHub (`make hub-test`; hub/hub.sh, hub/jupyterhub_config.py).

The hub runs as `make hub` starts it, with two students, on free ports; each person logs in through the hub's
login page in a browser context of their own (headless Chromium, screenshots in ui-artifacts/hub-<person>/):
the instructor releases gan_mnist from formgrader; student1 fetches it in the Assignment List, puts in the
solved notebook and a full run's results/ (through the contents API), validates and submits; student2 submits the
untouched assignment, then the demo's partial answers (the later submission counts); the instructor collects;
autograde runs in the sandbox (as root: `make hub-autograde`); the TA scores student1's Task 4 in formgrader;
the instructor generates and releases the feedback; each student fetches theirs in the Assignment List and
sees their own scores and comment only. A student's kernel cannot read the course, the gradebook, the
exchange's submissions or another student's home.
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect
from nbgrader.api import Gradebook

from browser import Steps, chromium, saved_manual_grade
from conftest import ASSIGNMENT, REPO
from grading.demo import filled
from graded_class import DEMO_PARTIAL, DEMO_RESULTS

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.hub]

STATE = Path("/srv/gan-hub")
COURSE = "gan-mnist-lab"
GRADER = f"grader-{COURSE}"
COURSE_ROOT = Path("/home") / GRADER / COURSE
SUBMITTED_AT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC$")  # a submission's line in the Assignment List


def free_ports(first=18000, count=4):
    """The first of ``count`` consecutive free local ports from ``first`` on."""
    for start in range(first, first + 400, count):
        try:
            sockets = [socket.create_server(("127.0.0.1", port)) for port in range(start, start + count)]
        except OSError:
            continue
        for s in sockets:
            s.close()
        return start
    pytest.skip("no 4 consecutive free ports from 18000 on")


@pytest.fixture(scope="module")
def hub():
    """`make hub STUDENTS=2` on free ports; `make hub-stop` after (keeping the installed environment)."""
    if os.geteuid() != 0:
        pytest.skip("the hub test needs root: it creates system accounts (run `make hub-test` as root)")
    if (STATE / "private" / "jupyterhub.pid").exists():
        pytest.skip(f"a hub is running ({STATE}): `make hub-stop` first")
    port = free_ports()
    env = {**os.environ, "HUB_PORT": str(port), "HUB_KEEP_ENV": "1"}
    subprocess.run([sys.executable, "-m", "grading.handout"], cwd=REPO, check=True, capture_output=True)
    started = subprocess.run(["bash", "hub/hub.sh", "start", "2"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=1500)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        passwords = dict(line.split() for line in (STATE / "private" / "passwords").read_text().splitlines())
        yield f"http://127.0.0.1:{port}", passwords
    finally:
        stopped = subprocess.run(["bash", "hub/hub.sh", "stop"], cwd=REPO, env=env, capture_output=True, text=True)
        assert stopped.returncode == 0, stopped.stderr
        assert subprocess.run(["id", "student1"], capture_output=True).returncode != 0, "hub-stop left an account"


class Person:
    """One hub account in a browser context of its own, with numbered screenshots."""

    def __init__(self, browser, url, name, password):
        self.url, self.name = url, name
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.step = Steps(self.page, f"hub-{name}")
        with self.step("log in through the hub"):
            self.page.goto(f"{url}/hub/login")
            self.page.fill("#username_input", name)
            self.page.fill("#password_input", password)
            self.page.click("#login_submit")
            self.page.wait_for_url(f"**/user/{name}/lab**", timeout=180_000)

    def api(self, method, path, data=None):
        """The user's own server's REST API, with the browser's cookies and XSRF token."""
        xsrf = next(c["value"] for c in self.context.cookies() if c["name"] == "_xsrf")
        response = self.context.request.fetch(f"{self.url}/user/{self.name}/api/{path}", method=method,
                                              headers={"X-XSRFToken": xsrf}, data=json.dumps(data) if data else None)
        assert response.ok, f"{method} {path}: {response.status} {response.text()[:300]}"
        return response.json() if response.text() else None

    def put_file(self, path, content: bytes):
        self.api("PUT", f"contents/{path}", {"type": "file", "format": "base64",
                                              "content": base64.b64encode(content).decode()})

    def assignment_list(self):
        page = self.page
        page.goto(f"{self.url}/user/{self.name}/lab")
        page.locator('#jp-menu-panel div.lm-MenuBar-itemLabel:text("Nbgrader")').click()
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        page.locator("#released_assignments_list").wait_for(timeout=60_000)

    def fetch(self):
        with self.step("fetch gan_mnist in the Assignment List"):
            self.assignment_list()
            row = self.page.locator("#released_assignments_list > .list_item", has_text=ASSIGNMENT)
            row.locator(".item_status button").click()
            self.page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT).wait_for(timeout=60_000)

    def submit(self, times_before=0):
        with self.step(f"submit ({times_before + 1})"):
            self.assignment_list()
            row = self.page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT).first
            row.locator(".item_status button", has_text="Submit").click()
            submissions = self.page.locator("#submitted_assignments_list").get_by_text(SUBMITTED_AT)
            expect(submissions).to_have_count(times_before + 1, timeout=60_000)

    def kernel_reads(self, paths):
        """Which of ``paths`` a kernel of this user's own server can open or list."""
        import websocket  # websocket-client, which jupyter_server uses

        code = ("import json, os\nfound = {}\nfor p in %r:\n    try:\n        found[p] = bool(os.listdir(p)) if "
                "os.path.isdir(p) else bool(open(p, 'rb').read(1))\n    except OSError:\n        found[p] = False\n"
                "print(json.dumps(found))" % (paths,))
        kernel = self.api("POST", "kernels", {"name": "python3"})["id"]
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.context.cookies())
        ws = websocket.create_connection(f"{self.url.replace('http', 'ws')}/user/{self.name}/api/kernels/{kernel}/channels",
                                         cookie=cookies, origin=self.url, timeout=60)
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({"header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                                           "msg_type": "execute_request", "version": "5.3"},
                                "parent_header": {}, "metadata": {}, "channel": "shell",
                                "content": {"code": code, "silent": False, "store_history": False,
                                            "user_expressions": {}, "allow_stdin": False}}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    return json.loads(msg["content"]["text"])
                assert msg["msg_type"] != "error", msg["content"]
        finally:
            ws.close()
            self.api("DELETE", f"kernels/{kernel}")


def formgrader_action(person, column, what):
    """Click the gan_mnist row's link in a column of formgrader's Manage Assignments; wait for its success."""
    with person.step(what):
        page = person.page
        page.goto(f"{person.url}/services/{COURSE}/formgrader")
        row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT))
        row.locator(f"td.{column} a").click()
        if column == "release":
            page.locator("td.status", has_text="released").wait_for(timeout=60_000)
        else:
            done = page.locator("#success-modal, #error-modal")
            done.wait_for(timeout=300_000)
            assert done.get_attribute("id") == "success-modal", done.inner_text()


def validate(person, path):
    """Open the notebook in the user's JupyterLab and press nbgrader's Validate: 'success' or 'failed'."""
    page = person.page
    page.goto(f"{person.url}/user/{person.name}/lab/tree/{path}")
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) jp-button.validate-button")
    button.wait_for(timeout=120_000)
    button.click()
    result = page.wait_for_selector(".nbgrader-SuccessDialog .validation-success, .nbgrader-ErrorDialog .validation-failed",
                                    timeout=300_000)
    return "success" if "validation-success" in result.get_attribute("class") else "failed"


def score_task4(grader, student, score, comment):
    with grader.step(f"score {student}'s Task 4 in formgrader"):
        page = grader.page
        page.goto(f"{grader.url}/services/{COURSE}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
        page.wait_for_selector("text=Submission #1", timeout=60_000)
        page.click("#toggle_names")
        page.click(f"a.name-shown >> text={student}")
        page.wait_for_selector("#task4_answer", timeout=60_000)
        page.fill("#task4_answer", str(score))
        page.fill("#task4_answer-comment", comment)
        page.locator("#task4_answer-comment").press("Tab")  # formgrader saves on leaving the field
        assert saved_manual_grade(COURSE_ROOT, student, "task4_answer") == (score, comment)


def fetch_feedback(student):
    """Fetch Feedback in the Assignment List; the feedback HTML that lands in the student's gan_mnist/feedback/."""
    with student.step("fetch feedback in the Assignment List"):
        student.assignment_list()
        student.page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").click()
        found = []
        for _ in range(60):
            listing = student.context.request.get(f"{student.url}/user/{student.name}/api/contents/{ASSIGNMENT}/feedback")
            found = listing.json()["content"] if listing.ok else []
            if found:
                break
            student.page.wait_for_timeout(1000)
        (timestamp,) = [f["name"] for f in found]
        path = f"{ASSIGNMENT}/feedback/{timestamp}/{ASSIGNMENT}.html"
        student.page.goto(f"{student.url}/user/{student.name}/files/{path}")
        return student.api("GET", f"contents/{path}")["content"]


def test_semester_loop(hub, source_nb, release_nb):
    url, passwords = hub
    with chromium() as browser:
        instructor = Person(browser, url, "instructor", passwords["instructor"])
        formgrader_action(instructor, "release", "release gan_mnist in formgrader")

        student1 = Person(browser, url, "student1", passwords["student1"])
        student1.fetch()
        with student1.step("complete the notebook, with a full run's results/"):
            solved = filled(release_nb, source_nb)
            student1.api("PUT", f"contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                         {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(solved))})
            student1.api("PUT", f"contents/{ASSIGNMENT}/results", {"type": "directory"})
            for result in sorted(DEMO_RESULTS.iterdir()):
                student1.put_file(f"{ASSIGNMENT}/results/{result.name}", result.read_bytes())
        with student1.step("validate"):
            assert validate(student1, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb") == "success"
        student1.submit()

        student2 = Person(browser, url, "student2", passwords["student2"])
        student2.fetch()
        student2.submit()
        with student2.step("a second submission: the partial answers"):
            partial = nbformat.read(DEMO_PARTIAL, as_version=4)
            student2.api("PUT", f"contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                         {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(partial))})
        student2.submit(times_before=1)

        reads = student2.kernel_reads([str(COURSE_ROOT / "source"), str(COURSE_ROOT / "gradebook.db"),
                                       str(STATE / "exchange" / COURSE / "inbound"), "/home/student1",
                                       f"/home/student1/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"/home/{GRADER}"])
        assert not any(reads.values()), f"a student reads what is not theirs: {reads}"

        formgrader_action(instructor, "collect", "collect the submissions in formgrader")
        graded = subprocess.run(["bash", "hub/hub.sh", "autograde"], cwd=REPO, capture_output=True, text=True, timeout=900)
        assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-2000:]
        with Gradebook(f"sqlite:///{COURSE_ROOT / 'gradebook.db'}") as gb:
            scores = {s: gb.find_submission(ASSIGNMENT, s).code_score for s in ("student1", "student2")}
        assert scores["student1"] == sum(c.metadata.nbgrader["points"] for c in source_nb.cells
                                         if c.metadata.get("nbgrader", {}).get("grade")
                                         and not c.metadata.nbgrader.get("solution"))
        assert scores["student2"] == 8, "the later submission (the partial answers, 8 points) counts"

        ta = Person(browser, url, "ta", passwords["ta"])
        score_task4(ta, "student1", 3.0, "Good comparison; quote your FID at epoch 30.")
        formgrader_action(instructor, "generate-feedback", "generate feedback in formgrader")
        formgrader_action(instructor, "release-feedback", "release feedback in formgrader")
        mine, theirs = fetch_feedback(student1), fetch_feedback(student2)
        assert "quote your FID at epoch 30" in mine and "student2" not in mine
        assert "quote your FID at epoch 30" not in theirs and "student1" not in theirs
        assert "BEGIN HIDDEN TESTS" not in mine + theirs
