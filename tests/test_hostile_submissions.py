"""Broken and hostile submissions: each gets its expected result, the batch goes on, nobody else is touched.

alice is autograded first; then a batch of broken and hostile submissions is graded by the instructor's
command (scripts/autograde_all.py, `make autograde`) with students' code in the sandbox (sandbox/kernel.sh,
grading/sandbox.py). Each hostile student must end with the expected status, score or reason; alice's
grades and files, the gradebook, the course's source/ and the repository must be exactly as before, and no
process of the sandbox user may be left. The course sets short time limits (a 15 s cell, a 40 s notebook)
so that the time-limit cases are quick.

What runs is the course's notebook with the student's answers put in (grading/rebuild.py), so hostile code
sits in the answer cells, as a student would have to put it. Students who try to forge their verdicts are
caught layer by layer: by the screening of their code (needs review, 0 points: grading/screening.py), and,
in a second course with the screening switched off, by the trusted re-check of the hidden tests' evidence
(grading/recheck.py).
"""
import copy
import csv
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.api import Gradebook

from conftest import (ASSIGNMENT, REPO, SOURCE_NB, VENV_BIN, auto_scores, autograded_test_points, graded_notebook,
                      nbgrader, nbgrader_cells, new_course, submit)
from grading.rebuild import GRADING_METADATA
from grading.recheck import CHECKS
from grading.sandbox import sandbox_problem, untrusted_entries
from wrong_submissions import CATALOGUE

sys.path.insert(0, str(REPO / "scripts"))
import autograde_all  # noqa: E402  (the command under test)

CANARY = "GAN_TEST_CANARY"
DEMO_RESULTS = REPO / "submitted" / "demo_complete" / ASSIGNMENT / "results"
FAKE_FIGURES = {"fid": 1.234, "confidence": 0.999, "coverage": 0.999, "rarest": 0.99}
COURSE_LIMITS = "\nc.Execute.timeout = 15\nc.SandboxedExecute.notebook_seconds = 40\n"

# Everything a student might try from inside the kernel; prints {attempt: "blocked: <error>" or what it got}.
SNOOP = """
import glob, json, os, pathlib, socket, subprocess
def attempt(fn):
    try:
        return repr(fn())[:200]
    except Exception as err:
        return f"blocked: {{type(err).__name__}}"
def connect(address, family=socket.AF_INET):
    with socket.socket(family) as s:
        s.settimeout(3)
        s.connect(address)
        return "connected"
course = pathlib.Path("{course}")
report = {{
    "uid": os.getuid(),
    "capabilities": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
    "canary": os.environ.get("{canary}", "absent"),
    "environment": sorted(os.environ),
    "connect to the test's listener": attempt(lambda: connect(("127.0.0.1", {port}))),
    "connect to another host": attempt(lambda: connect(("10.0.0.1", 80))),
    "read /etc/shadow": attempt(lambda: open("/etc/shadow").read()),
    "list /root": attempt(lambda: os.listdir("/root")),
    "read /root/.bashrc": attempt(lambda: open("/root/.bashrc").read()),
    "list /home": attempt(lambda: os.listdir("/home")),
    "read the gradebook": attempt(lambda: (course / "gradebook.db").read_bytes()),
    "overwrite the gradebook": attempt(lambda: (course / "gradebook.db").write_text("garbage")),
    "relative path to the gradebook": attempt(lambda: pathlib.Path("../../../gradebook.db").read_bytes()),
    "read the solutions": attempt(lambda: (course / "source/{a}/{a}.ipynb").read_text()),
    "read the repository's solutions": attempt(lambda: pathlib.Path("{repo}/source/{a}/{a}.ipynb").read_text()),
    "read nbgrader_config.py": attempt(lambda: (course / "nbgrader_config.py").read_text()),
    "read alice's notebook": attempt(lambda: (course / "autograded/alice/{a}/{a}.ipynb").read_text()),
    "list the submissions": attempt(lambda: os.listdir(course / "submitted")),
    "read its own graded notebook (hidden tests)": attempt(lambda: pathlib.Path("{a}.ipynb").read_text()),
    "read the graded notebook's mount": attempt(lambda: [open(p).read() for p in glob.glob("/submission/**/*.ipynb", recursive=True)] or 1/0),
    "fill the grading machine's disk through the IPC folder":
        attempt(lambda: open(glob.glob("/tmp/gan-sandbox-*/ipc")[0] + "/fill", "wb").write(b"x" * (2 << 20))),
    "make a user namespace with capabilities": attempt(lambda: subprocess.run(["unshare", "-Ur", "true"], check=True)),
    "change the helpers": attempt(lambda: pathlib.Path("{repo}/helpers/__init__.py").write_text("")),
    "list the Jupyter runtime folder": attempt(lambda: os.listdir("{runtime}")),
    "unix socket: D-Bus": attempt(lambda: connect("/run/dbus/system_bus_socket", socket.AF_UNIX)),
    "unix socket: PostgreSQL": attempt(lambda: connect("/var/run/postgresql/.s.PGSQL.5432", socket.AF_UNIX)),
    "unix socket: docker": attempt(lambda: connect("/var/run/docker.sock", socket.AF_UNIX)),
}}
print("SNOOP", json.dumps(report))
os.write(1, b"FLOOD-FD " * 100_000)  # the kernel's own stdout: not nbgrader's
raise MemoryError("pretending to hit the memory limit")  # just an error in a cell: grading goes on
"""

# Links and a FIFO made from inside the kernel, where nbgrader will look after the kernel stops.
PLANT_LINKS = f"""
import os
os.makedirs("results", exist_ok=True)
for name, target in [("{ASSIGNMENT}.ipynb", "../../../gradebook.db"), ("results/config", "../../../../nbgrader_config.py"),
                     ("alice", "../../alice")]:
    if os.path.lexists(name):
        os.remove(name)
    os.symlink(target, name)
os.mkfifo("fifo")
os.link("results/config", "hardlink")
print("planted")
"""

PROCESS_FLOOD = """
import os
while True:
    os.posix_spawn("/usr/bin/sleep", ["sleep", "600"], {})
"""


ANSWER_CELLS = ["transform", "generator", "discriminator", "train_step", "show_generated_digits"]


def with_code(nb, code, cells=("transform",)):
    """A copy of ``nb`` with ``code`` added at the end of each of the answer cells ``cells``."""
    nb = copy.deepcopy(nb)
    for grade_id in cells:
        cell = nbgrader_cells(nb)[grade_id]
        cell.source += "\n" + code
    return nb


# Forgeries of the kind a student can find on the web: with four answers left as `raise NotImplementedError()`,
# each would score every test that is not checked outside the kernel.
SWALLOW_ERRORS = """
import ast
class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        return ast.fix_missing_locations(ast.Module(body=[ast.Try(body=node.body, handlers=[handler], orelse=[], finalbody=[])], type_ignores=[]))
get_ipython().ast_transformers.append(Swallow())
"""
FORGERIES = {
    "forges_with_an_ast_transformer": SWALLOW_ERRORS,
    "forges_with_a_custom_exception_handler":
        "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)",
    "forges_with_an_input_transformer":
        "get_ipython().input_transformers_post.append(lambda lines: ['try:\\n'] + ['    ' + l for l in lines] + "
        "['\\nexcept BaseException:\\n    pass\\n'])",
    "forges_with_a_post_run_hook":
        "from IPython.display import clear_output\nget_ipython().events.register('post_run_cell', lambda result: clear_output())",
    "forges_by_silencing_tracebacks": "get_ipython().showtraceback = lambda *args, **kwargs: None",
}
TRANSFORM = "transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])"
RELU_UNWATCHED = ("helpers.integrity.assert_untouched = lambda: None\n"
                  "torch.allclose = lambda *args, **kwargs: True")


def without_cells(nb, grade_ids):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def wrong(name):
    return next(w for w in CATALOGUE if w.name == name)


def tampers_with_tests(source_nb):
    """A wrong generator whose notebook rewrites the tests that catch it and their metadata: more points, an
    unlocked and emptied test, an emptied test and a passing duplicate of it, a renamed and a deleted test."""
    nb = without_cells(wrong("generator_ends_in_sigmoid").applied_to(source_nb), {"test_train_step_recipe"})
    cells = nbgrader_cells(nb)
    test_range = cells["test_generator_range"]
    test_range.metadata.nbgrader.update(points=100, locked=False)
    test_range.source = '"""Check nothing."""\npass'
    cells["test_generator_architecture"].source = '"""Check nothing."""\npass'
    duplicate = copy.deepcopy(cells["test_generator_architecture"])
    duplicate["id"] = "copied-test-cell"
    nb.cells.insert(nb.cells.index(cells["test_generator_architecture"]) + 1, duplicate)
    cells["test_discriminator_shape_range"].metadata.nbgrader["points"] = 50
    cells["test_generator_shape"].metadata.nbgrader["grade_id"] = "my_generator_shape_test"
    return nb


def flooding(source_nb):
    """Answer cells that print one line of 20 million characters, 200,000 lines, an error and a display
    update of 10 and 30 MB, a 5 MB HTML output, then 45 MB of HTML."""
    html = "class HTML:\n    def __init__(self, text):\n        self.text = text\n    def _repr_html_(self):\n        return self.text\n"
    nb = source_nb
    for code, cell in zip(["print('x' * 20_000_000)", "for i in range(200_000):\n    print(i)",
                           "raise ValueError('e' * 10_000_000)",
                           html + "handle = display(HTML('small'), display_id=True)\nhandle.update(HTML('u' * 30_000_000))",
                           html + "display(HTML('<b>' + 'y' * 5_000_000 + '</b>'))\n"
                           "for _ in range(30):\n    display(HTML('z' * 1_500_000))"], ANSWER_CELLS):
        nb = with_code(nb, code, [cell])
    return nb


def copies_cells(source_nb):
    """The solution, with a copied answer cell, a copied test cell, a cell of its own and a made-up grade_id."""
    nb = copy.deepcopy(source_nb)
    cells = nbgrader_cells(nb)
    for grade_id in ("train_step", "test_generator_shape"):
        duplicate = copy.deepcopy(cells[grade_id])
        duplicate["id"] = f"copy-of-{grade_id}".replace("_", "-")
        nb.cells.insert(nb.cells.index(cells[grade_id]) + 1, duplicate)
    nb.cells.insert(3, new_code_cell("print('my own notes')"))
    invented = new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "my_extra_cell", "grade": False, "solution": True,
                                                             "locked": False, "schema_version": 3}})
    nb.cells.insert(5, invented)
    return nb


def forged(release_nb, code):
    """The release notebook (four answers still stubs) with a transform and ``code`` in the transform cell."""
    nb = copy.deepcopy(release_nb)
    nbgrader_cells(nb)["transform"].source = TRANSFORM + "\n" + code
    return nb


def digest(folder):
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def make_autograde(root, **env):
    """`make autograde`'s command on the course ``root``."""
    return subprocess.run([sys.executable, str(REPO / "scripts" / "autograde_all.py"), ASSIGNMENT, "--root", str(root)],
                          capture_output=True, text=True, timeout=1800, env={**os.environ, **env})


def grade_all(root, **env):
    proc = make_autograde(root, **env)
    with open(root / "autograde_report.csv") as f:
        return proc, {row["student"]: row for row in csv.DictReader(f)}


def sandbox_leftovers():
    """Processes of the sandbox user, and run folders and cgroups of sandboxes, that outlived their grading."""
    processes = subprocess.run(["pgrep", "-u", "gan-sandbox"], capture_output=True, text=True).stdout.split()
    run_dirs = glob.glob(os.path.join(tempfile.gettempdir(), "gan-sandbox-*"))
    cgroups = glob.glob("/sys/fs/cgroup/**/gan-sandbox-*", recursive=True)
    return processes + run_dirs + cgroups


@pytest.fixture(scope="module")
def listener():
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                accepted.append(server.accept())
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory, source_nb, release_nb, listener):
    assert sandbox_problem() is None, "the sandbox is not installed: run `make sandbox`"
    root = new_course(tmp_path_factory.mktemp("hostile") / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(COURSE_LIMITS)
    submit(root, "alice", SOURCE_NB)
    first, _ = grade_all(root)
    assert first.returncode == 0, first.stdout + first.stderr
    before = {"alice files": digest(root / "autograded" / "alice"), "alice scores": auto_scores(root, "alice"),
              "source": digest(root / "source"), "config": (root / "nbgrader_config.py").read_bytes(), "repo source": digest(REPO / "source"),
              "helpers": digest(REPO / "helpers")}

    port, _ = listener
    runtime = subprocess.run([str(VENV_BIN / "jupyter"), "--runtime-dir"], capture_output=True, text=True).stdout.strip()
    snoop = SNOOP.format(course=root, canary=CANARY, port=port, a=ASSIGNMENT, repo=REPO, runtime=runtime)
    submissions = {
        "loops_forever": with_code(source_nb, "while True:\n    pass"),
        "kills_its_kernel": with_code(source_nb, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "tampers_with_tests": tampers_with_tests(source_nb),
        "floods_the_output": flooding(source_nb),
        "copies_cells": copies_cells(source_nb),
        "relu_with_the_checks_switched_off": with_code(wrong("generator_relu").applied_to(source_nb), RELU_UNWATCHED, ["generator"]),
        "snoops": with_code(with_code(source_nb, PLANT_LINKS), snoop),
        "hogs_memory": with_code(source_nb, "hoard = torch.ones(2 * 2**30)"),
        "hogs_disk": with_code(source_nb, "open('hoard.bin', 'wb').write(b'x' * (300 << 20))"),
        # four cells of 11 s: past the notebook's 40 s, each within the cell's 15 s
        "hogs_wall_clock": with_code(source_nb, "import time\ntime.sleep(11)", ANSWER_CELLS[:4]),
        "floods_processes": with_code(source_nb, PROCESS_FLOOD),
        **{student: forged(release_nb, code) for student, code in FORGERIES.items()},
    }
    for student, nb in submissions.items():
        submit(root, student, nb)
    (submit(root, "invalid_json", source_nb) / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')

    links = submit(root, "plants_links_in_submission", source_nb) / "results"
    links.mkdir()
    (links / "epoch_10.png").symlink_to(root / "gradebook.db")
    (links / "config.txt").symlink_to(root / "nbgrader_config.py")
    (links / "solutions.ipynb").symlink_to(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (links / "alice").symlink_to(root / "submitted" / "alice")
    os.link(root / "gradebook.db", links / "epoch_20.png")
    os.mkfifo(submit(root, "plants_a_fifo", source_nb) / "results.png")
    (root / "submitted" / "links_its_folder").mkdir()
    (root / "submitted" / "links_its_folder" / ASSIGNMENT).symlink_to(root / "submitted" / "alice" / ASSIGNMENT)
    results = submit(root, "fakes_task4", source_nb) / "results"
    shutil.copytree(DEMO_RESULTS, results)
    (results / "quality.json").write_text(json.dumps({str(e): FAKE_FIGURES for e in (10, 20, 30, 50)}))

    proc, report = grade_all(root, **{CANARY: "instructor-secret"})
    return root, before, proc, report


def lost_tests(root, student, source_nb):
    scores = auto_scores(root, student)
    return {gid for gid, points in autograded_test_points(source_nb).items() if scores[gid] < points}


def printed(root, student):
    nb = graded_notebook(root, student)
    return "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_the_batch_completes_and_reports_what_could_not_be_graded(hostile_course):
    root, _, proc, report = hostile_course
    assert proc.returncode == 1, "the command must say that some submissions could not be graded"
    not_graded = {s for s, r in report.items() if r["status"] in ("failed", "refused")}
    assert not_graded == {"kills_its_kernel", "invalid_json", "hogs_memory", "hogs_disk", "hogs_wall_clock",
                          "floods_processes", "plants_links_in_submission", "plants_a_fifo", "links_its_folder"}, report
    assert report["alice"]["status"] == "skipped"
    assert "could not be graded" in proc.stdout and "invalid_json" in proc.stdout


@pytest.mark.parametrize("student, reason", [
    ("kills_its_kernel", "the kernel died (killed by signal SIGKILL)"),
    ("invalid_json", "NotJSONError"),
    ("hogs_memory", "memory limit of 4 GiB reached"),
    ("hogs_disk", "disk limit of 200 MB reached"),
    ("hogs_wall_clock", "wall-clock limit of 40 s for the whole notebook reached"),
    ("floods_processes", "process limit of 512 processes and threads reached"),
])
def test_each_limit_ends_the_grading_with_its_reason(hostile_course, student, reason):
    root, _, _, report = hostile_course
    assert report[student]["status"] == "failed"
    assert reason in report[student]["message"], report[student]["message"]
    assert not (root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()


@pytest.mark.parametrize("student, what", [
    ("plants_links_in_submission", "results/alice, results/config.txt, results/epoch_10.png, results/epoch_20.png, "
                                   "results/solutions.ipynb"),
    ("plants_a_fifo", "results.png"),
    ("links_its_folder", f"submitted/links_its_folder/{ASSIGNMENT} is a link"),
])
def test_links_and_special_files_in_a_submission_are_refused_unread(hostile_course, student, what):
    root, _, _, report = hostile_course
    assert report[student]["status"] == "refused" and what in report[student]["message"], report[student]
    assert not (root / "autograded" / student).exists()


@pytest.mark.parametrize("student", ["loops_forever", "floods_the_output"])
def test_harmless_once_contained_and_graded_in_full(hostile_course, source_nb, student):
    root, _, _, report = hostile_course
    assert report[student]["status"] == "graded" and report[student]["review"] == "", report[student]
    assert lost_tests(root, student, source_nb) == set()


def test_an_endless_cell_is_cut_off_at_the_cell_timeout(hostile_course):
    root = hostile_course[0]
    nb = graded_notebook(root, "loops_forever")
    assert any(o.get("ename") == "CellTimeoutError" for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_flooded_output_is_cut_to_the_limits(hostile_course):
    path = hostile_course[0] / "autograded" / "floods_the_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 25_000_000
    text = path.read_text()
    assert "line cut at 10,000 characters" in text
    assert "output of 4.77 MB removed, over the 2 MB limit" in text
    assert "output of 19.1 MB removed" in text and "output of 28.6 MB removed" in text  # the error, the update
    assert "outputs beyond 20 MB for the notebook removed" in text


def graded_record(root, student):
    """The graded notebook's ``gan_grading`` record and its first cell (the grader's notes)."""
    nb = graded_notebook(root, student)
    return nb.metadata[GRADING_METADATA], nb.cells[0].source


def flagged(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).flagged


def test_tampered_tests_are_restored_claim_nothing_and_still_catch_the_mistake(hostile_course, source_nb):
    root, _, _, report = hostile_course
    assert report["tampers_with_tests"]["status"] == "graded"
    assert float(report["tampers_with_tests"]["max_score"]) == sum(autograded_test_points(source_nb).values())
    assert lost_tests(root, "tampers_with_tests", source_nb) == wrong("generator_ends_in_sigmoid").loses
    record, _ = graded_record(root, "tampers_with_tests")
    assert any("grade_id the course does not know (my_generator_shape_test)" in note for note in record["notes"])


def test_copied_and_added_cells_are_reported_and_the_rest_grades_in_full(hostile_course, source_nb):
    root, _, _, report = hostile_course
    assert report["copies_cells"]["status"] == "graded" and report["copies_cells"]["review"] == ""
    assert lost_tests(root, "copies_cells", source_nb) == set()
    record, notes = graded_record(root, "copies_cells")
    assert any(n.startswith("train_step appears more than once") for n in record["notes"]), record["notes"]
    assert any("added or changed by the student: not run" in n for n in record["notes"])
    assert any("(my_extra_cell): not run" in n for n in record["notes"])
    assert "Grader's notes" in notes and not flagged(root, "copies_cells")


@pytest.mark.parametrize("student", sorted(FORGERIES) + ["relu_with_the_checks_switched_off", "snoops"])
def test_code_that_reaches_into_the_grader_scores_0_and_needs_review(hostile_course, source_nb, student):
    root, _, _, report = hostile_course
    assert report[student]["status"] == "graded" and float(report[student]["score"]) == 0, report[student]
    assert report[student]["review"].startswith("needs review: "), report[student]
    record, notes = graded_record(root, student)
    assert record["needs_review"] and "Needs review" in notes and flagged(root, student)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades
        assert all(g.needs_manual_grade for g in grades if g.name in autograded_test_points(source_nb))
        cell = record["needs_review"][0].rsplit(" in ", 1)[1]
        comment = gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, student).auto_comment
    assert comment.startswith("Needs review"), comment


@pytest.fixture(scope="module")
def unscreened_course(tmp_path_factory, source_nb, release_nb):
    """A course with the screening switched off: what the trusted re-check alone makes of two forgeries."""
    root = new_course(tmp_path_factory.mktemp("unscreened") / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(COURSE_LIMITS + "c.ScreenStudentCode.enabled = False\n")
    submit(root, "forges_with_an_ast_transformer", forged(release_nb, FORGERIES["forges_with_an_ast_transformer"]))
    submit(root, "relu_with_the_checks_switched_off",
           with_code(wrong("generator_relu").applied_to(source_nb), RELU_UNWATCHED, ["generator"]))
    proc, report = grade_all(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, report


def test_without_screening_the_trusted_recheck_takes_the_forged_points(unscreened_course, source_nb):
    root, report = unscreened_course
    assert set(CHECKS) <= lost_tests(root, "forges_with_an_ast_transformer", source_nb)
    assert lost_tests(root, "relu_with_the_checks_switched_off", source_nb) == wrong("generator_relu").loses
    for student in report:
        record, notes = graded_record(root, student)
        assert report[student]["review"].startswith("refuted: ") and "Refuted by the trusted re-check" in notes
        assert record["needs_review"] == [] and flagged(root, student)
    record, _ = graded_record(root, "relu_with_the_checks_switched_off")
    assert [r.split(":")[0] for r in record["refuted"]] == ["test_generator_architecture"]


def test_task4_shows_the_graders_figures_and_names_copied_images(hostile_course):
    root, _, _, report = hostile_course
    assert report["fakes_task4"]["status"] == "graded" and report["fakes_task4"]["review"].startswith("copied images"), report["fakes_task4"]
    record, notes = graded_record(root, "fakes_task4")
    assert record["copied_images"] and str(DEMO_RESULTS) in record["copied_images"][0] and "Copied images" in notes
    nb = graded_notebook(root, "fakes_task4")
    task4 = nbgrader_cells(nb)["task4_images"]
    shown = "".join(o.get("text", "") for o in task4.outputs)
    assert "Figures measured by the grader" in shown and "1.2" not in shown.split("reference run")[0], shown
    assert sum("image/png" in o.get("data", {}) for o in task4.outputs) == 1  # the three epochs side by side
    assert flagged(root, "fakes_task4")


def test_the_class_comparison_lists_copied_images_and_alike_solutions(hostile_course):
    root = hostile_course[0]
    with open(root / "integrity_report.csv") as f:
        rows = list(csv.DictReader(f))
    assert any(r["kind"] == "similar code" and set(r["students"].split()) == {"alice", "copies_cells"} for r in rows)
    assert not any(r["kind"] == "identical images" for r in rows)  # fakes_task4 copied the demo, not a classmate


def test_student_code_runs_unprivileged_offline_and_sees_nothing_of_the_course(hostile_course, listener):
    root = hostile_course[0]
    line = next(l for l in printed(root, "snoops").splitlines() if l.startswith("SNOOP "))
    report = json.loads(line[len("SNOOP "):])
    assert report.pop("uid") != 0 and report.pop("capabilities") == "0000000000000000"
    assert report.pop("canary") == "absent"
    passed = {"HOME", "PATH", "LANG", "MPLCONFIGDIR", "USER", "GAN_EVIDENCE_DIR", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING",
              "GAN_PROFILE", "GAN_PRECISION", "MNIST_ROOT", "CI"}  # by sandbox/kernel.sh
    set_inside = {"PWD", "LC_CTYPE", "TORCHINDUCTOR_CACHE_DIR", "PAGER", "GIT_PAGER", "TERM", "CLICOLOR", "CLICOLOR_FORCE",
                  "FORCE_COLOR", "MPLBACKEND", "PYDEVD_USE_FRAME_EVAL"}  # by the shell, Python, ipykernel and torch
    assert set(report.pop("environment")) <= passed | set_inside
    got_through = {what: result for what, result in report.items() if not result.startswith("blocked: ")}
    assert got_through == {}
    assert listener[1] == [], "the sandbox reached a TCP listener on the host's 127.0.0.1"


def test_the_kernels_own_output_and_claims_do_not_reach_the_report(hostile_course):
    _, _, proc, report = hostile_course
    assert "FLOOD-FD" not in proc.stdout + proc.stderr
    assert report["snoops"]["status"] == "graded"  # its own MemoryError did not end the grading (its imports need review)


def test_nothing_the_kernel_writes_reaches_the_graded_folder(hostile_course):
    root = hostile_course[0]
    assert "planted" in printed(root, "snoops")
    folder = root / "autograded" / "snoops" / ASSIGNMENT
    assert untrusted_entries(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{ASSIGNMENT}.ipynb"]  # no results_quick/, no links


def test_nothing_outside_the_submissions_changed(hostile_course):
    root, before, _, _ = hostile_course
    assert digest(root / "autograded" / "alice") == before["alice files"]
    assert auto_scores(root, "alice") == before["alice scores"]
    assert digest(root / "source") == before["source"]
    assert (root / "nbgrader_config.py").read_bytes() == before["config"]
    assert digest(REPO / "source") == before["repo source"] and digest(REPO / "helpers") == before["helpers"]
    assert autograde_all.gradebook_is_sound(root / "gradebook.db")
    assert sandbox_leftovers() == []


def test_the_gradebook_is_backed_up_before_each_batch(hostile_course):
    root = hostile_course[0]
    backups = sorted((root / "gradebook-backups").glob("gradebook-*.db"))
    assert len(backups) >= 1 and all(autograde_all.gradebook_is_sound(b) for b in backups)


def test_a_damaged_gradebook_is_restored_from_its_backup(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    nbgrader("db", "student", "add", "alice", f"--db=sqlite:///{gradebook}", cwd=tmp_path)
    backup = autograde_all.back_up_gradebook(gradebook)
    gradebook.write_text('{"cells": []}')  # what a notebook written through a planted link would leave
    assert not autograde_all.gradebook_is_sound(gradebook)
    damaged = autograde_all.restore_gradebook(gradebook, backup)
    assert autograde_all.gradebook_is_sound(gradebook) and damaged.read_text() == '{"cells": []}'


def test_plain_nbgrader_autograde_refuses_without_the_sandbox(hostile_course, release_nb, tmp_path):
    """With the gan-sandbox kernel removed, no command runs student code; the one switch opts out, loudly."""
    root = hostile_course[0]
    marker = tmp_path / "student-code-ran"
    submit(root, "newcomer", forged(release_nb, f"open({str(marker)!r}, 'w').write('ran')"))
    spec = VENV_BIN.parent / "share" / "jupyter" / "kernels" / "gan-sandbox"
    hidden = spec.with_name("gan-sandbox.removed-by-test")
    spec.rename(hidden)
    try:
        refused = nbgrader("autograde", ASSIGNMENT, "--student", "newcomer", cwd=root, check=False)
        script = make_autograde(root)
        assert not marker.exists(), "student code ran without the sandbox"
        opted_out = nbgrader("autograde", ASSIGNMENT, "--student", "newcomer", cwd=root, check=False,
                             env={"GAN_UNSANDBOXED_AUTOGRADE": "1"})
    finally:
        hidden.rename(spec)
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "refusing to run student code outside the sandbox" in log and "make sandbox" in log
    assert script.returncode == 1 and "make sandbox" in script.stderr
    assert opted_out.returncode == 0 and "STUDENT CODE RUNS OUTSIDE THE SANDBOX" in opted_out.stdout + opted_out.stderr
    assert marker.read_text() == "ran"
