"""The semester loop through the course's real JupyterHub (`make hub-test`; hub/hub.sh, hub/jupyterhub_config.py).

The hub runs as `make hub` starts it, with five students, on free ports; each person logs in through the hub's
login page in a browser context of their own (headless Chromium, screenshots in ui-artifacts/hub-<person>/):
the instructor releases gan_mnist from formgrader; student1 fetches it in the Assignment List, puts in the
solved notebook and a full run's results/ (through the contents API), validates and submits; student2 submits the
untouched assignment, then the demo's partial answers (the later submission counts). A student's kernel cannot
read the course, the gradebook, the exchange's submissions or another student's home.
Then the due date passes (set in formgrader; this course gives no grace period): student3 submits the partial
answers without the Task 1 answer cell, twice at once; student4 renamed the notebook and student5 deleted it:
the Assignment List refuses both with nbgrader's message, and both submit anyway from a terminal.
student2 also plants a submission under student1's name and one of its own linking to the course's solutions,
student3 a copy of its own claiming a time before the due date: collect leaves the first two in the exchange and
dates the third when it was written (grading/exchange.py). The instructor collects; autograde runs in the sandbox
(as root: `make hub-autograde`) and its report says what happened to each; the TA scores student1's Task 4 in
formgrader; the instructor's Generate Feedback is withheld, naming each student whose answers still wait for a
grader; the TA grades those; the instructor generates and releases the feedback; student1 and student2 fetch theirs
in the Assignment List and see their own scores and comment only.

Then one student cannot hold up the class (``test_one_student_cannot_hold_up_the_class``): the servers' limits
(hub/spawner.py) against student1's spinners, memory hog, process flood and /tmp filler; `make hub-stop` leaves no
account and no cgroup behind.
"""
import base64
import json
import os
import queue
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect
from nbgrader.api import Gradebook

from browser import ARTIFACTS, Steps, chromium, grade_by_hand
from conftest import ASSIGNMENT, REPO, sandbox_lock
from grading import preprocessors
from grading.demo import filled
from graded_class import DEMO_PARTIAL, DEMO_RESULTS

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.hub]

STATE = Path("/srv/gan-hub")
COURSE = "gan-mnist-lab"
GRADER = f"grader-{COURSE}"
COURSE_ROOT = Path("/home") / GRADER / COURSE
SUBMITTED_AT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC$")  # a submission's line in the Assignment List


# Run in a student's kernel: submission folders written into the exchange by hand, as nbgrader's submit would,
# named an hour ahead (so that each is its student's latest), the timestamp.txt claiming an hour later ("+1h") or a
# day earlier ("-1d"), with an optional link.
PLANT = """import datetime, os, shutil
for student, shift, link in %(plants)r:
    now = datetime.datetime.utcnow()
    claimed = now + (datetime.timedelta(hours=1) if shift == "+1h" else -datetime.timedelta(days=1))
    folder = os.path.join(%(inbound)r, student + "+gan_mnist+" + (now + datetime.timedelta(hours=1)).strftime(
        "%%Y-%%m-%%d %%H:%%M:%%S.%%f UTC") + "+planted")
    os.mkdir(folder)
    shutil.copy("gan_mnist/gan_mnist.ipynb", folder)
    open(os.path.join(folder, "timestamp.txt"), "w").write(claimed.strftime("%%Y-%%m-%%d %%H:%%M:%%S.%%f UTC"))
    if link:
        os.symlink(link, os.path.join(folder, "solution.ipynb"))
"""


def close_dialog(page):
    """Press the OK of JupyterLab's dialog (nbgrader's validation results, "Invalid Submission")."""
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=30_000)


def inbound(pattern):
    """The exchange's submissions whose names match ``pattern`` (student+assignment+timestamp+random)."""
    return list((STATE / "exchange" / COURSE / "inbound").glob(pattern))


def submitted_at(submission: Path) -> datetime:
    return datetime.strptime(submission.name.split("+")[2], "%Y-%m-%d %H:%M:%S.%f %Z")


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
    """`make hub STUDENTS=5` on free ports; `make hub-stop` after (keeping the installed environment)."""
    if os.geteuid() != 0:
        pytest.skip("the hub test needs root: it creates system accounts (run `make hub-test` as root)")
    if (STATE / "private" / "jupyterhub.pid").exists():
        pytest.skip(f"a hub is running ({STATE}): `make hub-stop` first")
    port = free_ports()
    env = {**os.environ, "HUB_PORT": str(port), "HUB_KEEP_ENV": "1"}
    subprocess.run([sys.executable, "-m", "grading.handout"], cwd=REPO, check=True, capture_output=True)
    started = subprocess.run(["bash", "hub/hub.sh", "start", "5"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=1500)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        passwords = dict(line.split() for line in (STATE / "private" / "passwords").read_text().splitlines())
        yield f"http://127.0.0.1:{port}", passwords
    finally:
        accounts = (STATE / "private" / "accounts").read_text().split() if started.returncode == 0 else []
        stopped = subprocess.run(["bash", "hub/hub.sh", "stop"], cwd=REPO, env=env, capture_output=True, text=True)
        assert stopped.returncode == 0, stopped.stderr
        left = [user for user in accounts if subprocess.run(["id", user], capture_output=True).returncode == 0]
        assert not left, f"hub-stop left the accounts {left}"
        cgroups = list(Path("/sys/fs/cgroup").glob("**/gan-hub-*"))
        assert not cgroups, f"hub-stop left the servers' cgroups {cgroups}"


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
        """nbgrader's Assignment List, refreshed (JupyterLab is loaded again only when the page has left it)."""
        page = self.page
        refresh = page.locator("#refresh_assignments_list")
        if f"/user/{self.name}/lab" in page.url and refresh.is_visible():
            refresh.click()
        else:
            if f"/user/{self.name}/lab" not in page.url:
                page.goto(f"{self.url}/user/{self.name}/lab")
            page.locator('#jp-menu-panel div.lm-MenuBar-itemLabel:text("Nbgrader")').click()
            page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        page.locator("#released_assignments_list").wait_for(timeout=60_000)
        page.locator("#released_assignments_list_loading").wait_for(state="hidden", timeout=60_000)

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

    def run_python(self, code):
        """Run ``code`` in a kernel of this user's own server, in their home; what it printed."""
        kernel = Kernel(self)
        try:
            printed, error, died = kernel.run(f"import os\nos.chdir(os.path.expanduser('~'))\n{code}")
            assert error is None and not died, error or "the kernel died"
            return printed
        finally:
            kernel.close()

    def validate_seconds(self, path):
        """nbgrader's Validate of ``path`` through the server's REST endpoint (what the button calls): its seconds."""
        xsrf = next(c["value"] for c in self.context.cookies() if c["name"] == "_xsrf")
        started = time.perf_counter()
        response = self.context.request.post(f"{self.url}/user/{self.name}/assignments/validate", timeout=600_000,
                                             headers={"X-XSRFToken": xsrf}, data=json.dumps({"path": path}))
        seconds = time.perf_counter() - started
        try:
            reply = json.loads(response.text())
        except ValueError:
            reply = {"success": False}
        assert response.ok and reply["success"], f"Validate: {response.status} {response.text()[:500]}"
        return seconds

    def kernel_reads(self, paths):
        """Which of ``paths`` a kernel of this user's own server can open or list."""
        return json.loads(self.run_python(
            "import json\nfound = {}\nfor p in %r:\n    try:\n        found[p] = bool(os.listdir(p)) if "
            "os.path.isdir(p) else bool(open(p, 'rb').read(1))\n    except OSError:\n        found[p] = False\n"
            "print(json.dumps(found))" % (paths,)))

    def submit_refused(self):
        """Press Submit in the Assignment List; the text of nbgrader's "Invalid Submission" dialog."""
        with self.step("submit: refused"):
            self.assignment_list()
            row = self.page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT).first
            row.locator(".item_status button", has_text="Submit").click()
            dialog = self.page.locator("#submission-message")
            dialog.wait_for(timeout=60_000)
            message = dialog.inner_text()
            close_dialog(self.page)
            return message

    def submit_from_terminal(self):
        """What a student can still do after a refusal: `nbgrader submit` with the check turned off."""
        with self.step("submit from a terminal, without nbgrader's check"):
            return self.run_python("import subprocess, sys\nprint(subprocess.run([sys.executable, '-m', 'nbgrader', "
                                   f"'submit', '{ASSIGNMENT}', '--ExchangeSubmit.strict=False'], capture_output=True, "
                                   "text=True).returncode)")

    def submit_twice_at_once(self):
        """Two Submit requests sent together from the student's browser (a double click, two tabs)."""
        with self.step("submit twice at once"):
            replies = self.page.evaluate("""async (assignment) => {
                const xsrf = document.cookie.match(/_xsrf=([^;]+)/)[1];
                const post = () => fetch(`${location.pathname.split('/lab')[0]}/assignments/submit`, {
                    method: 'POST', headers: {'X-XSRFToken': decodeURIComponent(xsrf)},
                    body: JSON.stringify({course_id: '%s', assignment_id: assignment})}).then(r => r.json());
                return await Promise.all([post(), post()]);
            }""" % COURSE, ASSIGNMENT)
            assert all(reply["success"] for reply in replies), f"a submission failed: {replies}"


class Kernel:
    """One kernel of a user's server, over its websocket: cells run one after another, and whether the kernel died.
    A thread reads the websocket all along, answering the server's pings while the test waits on something else
    (unanswered, the server closes the connection)."""

    def __init__(self, person):
        import websocket  # websocket-client, which jupyter_server uses

        self.person = person
        self.id = person.api("POST", "kernels", {"name": "python3"})["id"]
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in person.context.cookies())
        self.ws = websocket.create_connection(
            f"{person.url.replace('http', 'ws')}/user/{person.name}/api/kernels/{self.id}/channels",
            cookie=cookies, origin=person.url)
        self.messages = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                raw = self.ws.recv()
            except Exception:  # closed
                raw = ""
            self.messages.put(raw)
            if not raw:
                return

    def send(self, code):
        """Start running ``code``; ``result`` waits for it."""
        self.msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({"header": {"msg_id": self.msg_id, "username": self.person.name,
                                            "session": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3"},
                                 "parent_header": {}, "metadata": {}, "channel": "shell",
                                 "content": {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False}}))

    def result(self):
        """(what the cell printed, its error as "ename: evalue" or None, whether the kernel died running it)."""
        printed, error = [], None
        while True:
            raw = self.messages.get(timeout=600)
            assert raw, f"{self.person.name}'s server closed the kernel's websocket"
            msg = json.loads(raw)
            state = msg["content"].get("execution_state") if msg["msg_type"] == "status" else None
            if state in ("restarting", "dead"):  # the server's word that the kernel died
                return "".join(printed), error, True
            if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            if msg["msg_type"] == "error":
                error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
            if state == "idle":
                return "".join(printed), error, False

    def run(self, code):
        self.send(code)
        return self.result()

    def close(self):
        self.ws.close()
        self.person.api("DELETE", f"kernels/{self.id}")


def formgrader_action(person, column, what, succeeds=True):
    """Click the gan_mnist row's link in a column of formgrader's Manage Assignments; wait for its success (or,
    where it ``succeeds`` not, its error); the dialog's text."""
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
            assert done.get_attribute("id") == ("success-modal" if succeeds else "error-modal"), done.inner_text()
            return done.text_content()  # with nbgrader's log


def set_due_date(instructor, due: datetime):
    """The assignment's due date, in formgrader's "Editing gan_mnist" dialog (UTC)."""
    with instructor.step("set the due date in formgrader"):
        page = instructor.page
        page.goto(f"{instructor.url}/services/{COURSE}/formgrader")
        row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT))
        row.locator("td.edit a").click()
        page.locator("#edit-assignment-modal input.modal-duedate").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
        page.locator("#edit-assignment-modal input.modal-timezone").fill("UTC")
        page.locator("#edit-assignment-modal button.save").click()
        page.locator("#edit-assignment-modal").wait_for(state="detached", timeout=30_000)
        expect(row.locator("td.duedate")).not_to_have_text("None")


def validate(person, path):
    """Open the notebook in the user's JupyterLab and press nbgrader's Validate: 'success' or 'failed'."""
    page = person.page
    page.goto(f"{person.url}/user/{person.name}/lab/tree/{path}")
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) jp-button.validate-button")
    button.wait_for(timeout=120_000)
    button.click()
    result = page.wait_for_selector(".nbgrader-SuccessDialog .validation-success, .nbgrader-ErrorDialog .validation-failed",
                                    timeout=300_000)
    outcome = "success" if "validation-success" in result.get_attribute("class") else "failed"
    close_dialog(page)
    return outcome


def score_answers(grader, student, scores):
    """Score and comment ``student``'s answers ({grade_id: (score, comment)}) in formgrader's grading view."""
    with grader.step(f"score {student}'s {', '.join(scores)} in formgrader"):
        page = grader.page
        page.goto(f"{grader.url}/services/{COURSE}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
        page.wait_for_selector("text=Submission #1", timeout=60_000)
        page.click("#toggle_names")
        page.click(f"a.name-shown >> text={student}")
        for grade_id, (score, comment) in scores.items():
            page.wait_for_selector(f"#{grade_id}", timeout=60_000)
            assert grade_by_hand(page, COURSE_ROOT, student, grade_id, score, comment) == (score, comment)


def waiting_for_a_grader():
    """{student: [grade_id]} of the cells that hold the feedback back in the hub course's gradebook."""
    with Gradebook(f"sqlite:///{COURSE_ROOT / 'gradebook.db'}") as gb:
        waiting = {submission.student_id: [name for notebook in submission.notebooks
                                           for name in preprocessors.waiting_for_a_grader(notebook)]
                   for submission in gb.assignment_submissions(ASSIGNMENT)}
    return {student: answers for student, answers in waiting.items() if answers}


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

        with student2.step("plant a submission under student1's name, and one linking to the course's solutions"):
            student2.run_python(PLANT % {"inbound": str(STATE / "exchange" / COURSE / "inbound"), "plants": [
                ("student1", "+1h", None), ("student2", "+1h", str(COURSE_ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))]})

        reads = student2.kernel_reads([str(COURSE_ROOT / "source"), str(COURSE_ROOT / "gradebook.db"),
                                       str(STATE / "exchange" / COURSE / "inbound"), "/home/student1",
                                       f"/home/student1/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"/home/{GRADER}"])
        assert not any(reads.values()), f"a student reads what is not theirs: {reads}"

        # the deadline passes (no grace period in this course); then the odd submissions
        set_due_date(instructor, datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1))
        with open(COURSE_ROOT / "nbgrader_config.py", "a") as config:
            config.write("c.LatePenalty.grace_minutes = 0\n")
        student3 = Person(browser, url, "student3", passwords["student3"])
        student3.fetch()
        with student3.step("the partial answers without the Task 1 answer cell"):
            partial.cells = [c for c in partial.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "task1_answer"]
            student3.api("PUT", f"contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                         {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(partial))})
        student3.submit_twice_at_once()
        twice = sorted(inbound(f"student3+{ASSIGNMENT}+*"))
        assert len(twice) == 2, f"two submissions at once, both kept: {twice}"
        apart = submitted_at(twice[1]) - submitted_at(twice[0])
        assert apart.total_seconds() < 10, f"the two submissions were {apart} apart"  # the server takes one at a time
        with student3.step("plant a copy claiming a time before the due date"):
            student3.run_python(PLANT % {"inbound": str(STATE / "exchange" / COURSE / "inbound"),
                                         "plants": [("student3", "-1d", None)]})

        student4 = Person(browser, url, "student4", passwords["student4"])
        student4.fetch()
        student4.api("PATCH", f"contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", {"path": f"{ASSIGNMENT}/GAN final.ipynb"})
        student5 = Person(browser, url, "student5", passwords["student5"])
        student5.fetch()
        student5.api("DELETE", f"contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
        for student in (student4, student5):
            message = student.submit_refused()
            assert "There are missing notebooks for the submission" in message and f"{ASSIGNMENT}.ipynb: MISSING" in message
            assert not inbound(f"{student.name}+*"), "a refused submission reached the exchange"
            assert student.submit_from_terminal().strip() == "0"
        assert student4.api("GET", f"contents/{ASSIGNMENT}/GAN final.ipynb")["type"] == "notebook"

        collected = formgrader_action(instructor, "collect", "collect the submissions in formgrader")
        assert "made by student2, not by student1" in collected, collected
        assert "holds a link or special file (solution.ipynb)" in collected, collected
        assert re.search(r"student3\+gan_mnist\+\S+ \S+ UTC\+planted claims .* collected as written", collected), collected
        assert not any("BEGIN HIDDEN TESTS" in p.read_text(errors="replace")
                       for p in (COURSE_ROOT / "submitted" / "student2").rglob("*") if p.is_file())
        with sandbox_lock():
            graded = subprocess.run(["bash", "hub/hub.sh", "autograde"], cwd=REPO, capture_output=True, text=True,
                                    timeout=900)
        report = {line.split()[0]: line for line in graded.stdout.splitlines() if line.startswith("student")}
        assert graded.returncode == 1 and sorted(report) == [f"student{i}" for i in range(1, 6)], graded.stdout + graded.stderr
        assert "late" not in report["student1"] + report["student2"], graded.stdout
        assert re.search(r" graded +8/26 +submitted [\w ]+ after the due date: late penalty 0\.8 points; "
                         r"not found, graded as unanswered: task1_answer", report["student3"]), graded.stdout
        assert re.search(r" failed +- +no gan_mnist\.ipynb: the submission holds GAN final\.ipynb \(renamed\?\)",
                         report["student4"]), graded.stdout
        assert re.search(r" failed +- +the submission is empty \(no files\): not graded", report["student5"]), graded.stdout
        assert "GAN final.ipynb" in os.listdir(COURSE_ROOT / "submitted" / "student4" / ASSIGNMENT), "left as it was"
        with Gradebook(f"sqlite:///{COURSE_ROOT / 'gradebook.db'}") as gb:
            scores = {s: gb.find_submission(ASSIGNMENT, s).code_score for s in ("student1", "student2")}
        assert scores["student1"] == sum(c.metadata.nbgrader["points"] for c in source_nb.cells
                                         if c.metadata.get("nbgrader", {}).get("grade")
                                         and not c.metadata.nbgrader.get("solution"))
        assert scores["student2"] == 8, "the later submission (the partial answers, 8 points) counts"

        ta = Person(browser, url, "ta", passwords["ta"])
        score_answers(ta, "student1", {"task4_answer": (3.0, "Good comparison; quote your FID at epoch 30.")})
        with ta.step("the grade-by-question page: the TA's, never a student's"):
            page = f"{url}/services/{COURSE}/grade-by-question/"
            ta.page.goto(f"{page}?cell=task4_answer")
            ta.page.wait_for_function("() => document.getElementById('answer').dataset.answer", timeout=60_000)
            assert re.fullmatch(r"\d+ of [1-9]\d* graded", ta.page.inner_text("#progress")), ta.page.inner_text("#progress")
            assert ta.page.inner_text("#grader") == "grading as ta"
            assert student1.context.request.get(page).status == 403
            assert student1.context.request.get(f"{page}api/questions").status == 403
        withheld = formgrader_action(instructor, "generate-feedback", "generate feedback while answers wait: withheld",
                                     succeeds=False)
        waiting = waiting_for_a_grader()
        assert waiting and all(f"feedback for {student} withheld" in withheld for student in waiting), withheld
        for student, answers in waiting.items():
            score_answers(ta, student, {answer: (1.0, "Graded by the TA.") for answer in answers})
        formgrader_action(instructor, "generate-feedback", "generate feedback in formgrader")
        formgrader_action(instructor, "release-feedback", "release feedback in formgrader")
        mine, theirs = fetch_feedback(student1), fetch_feedback(student2)
        assert "quote your FID at epoch 30" in mine and "student2" not in mine
        assert "quote your FID at epoch 30" not in theirs and "student1" not in theirs
        assert "BEGIN HIDDEN TESTS" not in mine + theirs


# What student1 runs in test_one_student_cannot_hold_up_the_class, one after another.
SPINNERS = """import subprocess, sys
spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(4)]"""
STOP_SPINNERS = "for spinner in spinners:\n    spinner.kill()\n    spinner.wait()"
MEMORY_HOG = "hoard = b'x' * (5 << 30)"
PROCESS_FLOOD = """import subprocess
started = []
try:
    for _ in range(1000):
        started.append(subprocess.Popen(["sleep", "600"]))
finally:
    print(len(started), "processes started")
    for process in started:
        process.kill()
        process.wait()"""
TMP_FILLER = """chunk = b"x" * (64 << 20)
with open("/tmp/filler", "wb") as filler:
    while True:
        filler.write(chunk)"""
# What a student's kernel sees of the others: /tmp, and the accounts of every process it can list.
SEES = """import json, os
uids = set()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        uids.add(int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")).split()[1]))
    except (OSError, StopIteration):
        pass
print(json.dumps({"tmp": os.listdir("/tmp"), "uids": sorted(uids)}))"""


def test_one_student_cannot_hold_up_the_class(hub, source_nb, release_nb):
    """student1 runs a CPU spinner on every core, a memory hog, a process flood and a /tmp filler; meanwhile student2
    validates and student3's Assignment List answers: the hub, formgrader and the other servers stay up, student2's
    Validate keeps its fair share (measured against a spinner without the limits too), student1 is told each limit."""
    url, passwords = hub
    culler = subprocess.run(["pgrep", "-af", "jupyterhub_idle_culler"], capture_output=True, text=True).stdout
    assert "--timeout=3600" in culler, f"the idle culler is not running as a hub service: {culler!r}"
    notebook = "limits/gan_mnist.ipynb"
    timings = {}
    with chromium() as browser:
        student1, student2, student3 = (Person(browser, url, f"student{i}", passwords[f"student{i}"]) for i in (1, 2, 3))
        instructor = Person(browser, url, "instructor", passwords["instructor"])

        def the_others_answer():
            assert instructor.context.request.get(f"{url}/hub/api/").ok, "the hub stopped answering"
            page = instructor.context.request.get(f"{url}/services/{COURSE}/formgrader/", max_redirects=0)
            assert page.status in (200, 302, 303), f"formgrader answered {page.status}"
            started = time.perf_counter()
            listing = student3.context.request.get(f"{url}/user/student3/assignments?course_id={COURSE}")
            assert listing.ok and listing.json()["success"], f"student3's Assignment List: {listing.status}"
            assert student2.api("GET", "status"), "student2's server"
            return time.perf_counter() - started

        with student2.step("a solved notebook with a full run's results, to validate"):
            solved = filled(release_nb, source_nb)
            student2.api("PUT", "contents/limits", {"type": "directory"})
            student2.api("PUT", f"contents/{notebook}", {"type": "notebook", "format": "json",
                                                          "content": json.loads(nbformat.writes(solved))})
            student2.api("PUT", "contents/limits/results", {"type": "directory"})
            for result in sorted(DEMO_RESULTS.iterdir()):
                student2.put_file(f"limits/results/{result.name}", result.read_bytes())

        with student1.step("student1 sees neither student2's /tmp nor their processes"):
            student2.run_python("open('/tmp/student2-notes.txt', 'w').write('mine')\nos.chmod('/tmp/student2-notes.txt', 0o644)")
            seen = json.loads(student1.run_python(SEES))
            student1_uid = int(subprocess.check_output(["id", "-u", "student1"]))
            assert "student2-notes.txt" not in seen["tmp"], seen
            assert set(seen["uids"]) <= {0, student1_uid}, f"student1 lists other accounts' processes: {seen}"

        hog = Kernel(student1)
        with student1.step("a CPU spinner on every core, while student2 validates"):
            alone, beside = [], []
            for _ in range(3):  # alone and beside in turn: a machine whose pace drifts drifts for both
                alone.append(student2.validate_seconds(notebook))
                assert hog.run(SPINNERS)[1] is None
                try:
                    beside.append(student2.validate_seconds(notebook))
                    timings["assignment_list_s"] = the_others_answer()
                finally:
                    hog.run(STOP_SPINNERS)
            timings["validate_alone_s"] = statistics.median(alone)
            timings["validate_beside_spinners_s"] = statistics.median(beside)
        # the same spinners as LocalProcessSpawner would run them: student1's, in sessions of their own, no cgroup
        spinners = [subprocess.Popen(["setpriv", "--reuid=student1", "--regid=student1", "--clear-groups",
                                      str(STATE / "venv" / "bin" / "python"), "-c", "while True: pass"],
                                     start_new_session=True) for _ in range(4)]
        try:
            timings["validate_beside_spinners_without_limits_s"] = student2.validate_seconds(notebook)
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()

        with student1.step("a memory hog, while student2 validates: the kernel is stopped, and says why after"):
            hog.send(MEMORY_HOG)
            student2.validate_seconds(notebook)
            _, _, died = hog.result()
            assert died, "5 GiB held within a 3 GiB limit"
            printed, error, died = hog.run("print('back')")
            assert not died and "memory limit of 3 GiB was reached" in printed, (printed, error)
            the_others_answer()
        with student1.step("a process flood: stopped at the server's limit, and said so"):
            printed, error, _ = hog.run(PROCESS_FLOOD)
            assert error and error.startswith("BlockingIOError"), (printed, error)
            assert int(printed.split()[0]) < 512 and "limit of 512 processes and threads was reached" in printed, printed
            the_others_answer()
        with student1.step("a /tmp filler: stopped at 1 GiB, and said so"):
            printed, error, _ = hog.run(TMP_FILLER)
            assert error and "No space left on device" in error and "/tmp is full (1 GiB" in printed, (printed, error)
            hog.run("import os\nos.remove('/tmp/filler')")
            the_others_answer()
        hog.close()

    timings["slowdown"] = round(timings["validate_beside_spinners_s"] / timings["validate_alone_s"], 2)
    timings["slowdown_without_limits"] = round(
        timings["validate_beside_spinners_without_limits_s"] / timings["validate_alone_s"], 2)
    (ARTIFACTS / "hub-limits.json").write_text(json.dumps(timings, indent=1))
    assert timings["slowdown"] <= 2.2, f"student2's Validate beside student1's spinners: {timings}"
