"""Broken, hostile and script-carrying submissions for the graded class (tests/graded_class.py).

Each builder returns a notebook a student could submit: the solution or the release notebook with code put
in answer cells (what runs is the course's notebook with the student's answers put in, grading/rebuild.py),
cells and metadata tampered with, outputs flooded, or markdown and outputs carrying script payloads.
"""
import copy

import nbformat
from nbformat.v4 import new_code_cell

from conftest import ASSIGNMENT, SOURCE_NB, nbgrader_cells
from grading.demo import filled
from wrong_submissions import CATALOGUE

CANARY = "GAN_TEST_CANARY"
FAKE_FIGURES = {"fid": 1.234, "confidence": 0.999, "coverage": 0.999, "rarest": 0.99}
# Short time limits, so that the time-limit cases are quick: 15 s of CPU time a cell (the limits section), a 180 s
# notebook (the wall_clock section, alone: a solved notebook takes a minute or two when `make test`'s three runs
# share 2 cores).
COURSE_LIMITS = "\nc.Execute.timeout = 15\n"
COURSE_WALL_CLOCK = "\nc.SandboxedExecute.notebook_seconds = 180\n"
# A loop that the cell's interrupt does not stop: the kernel is killed at twice the cell's CPU time.
IGNORES_INTERRUPTS = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"
# A cell that ignores the interrupt and sleeps: it uses no CPU time, and is stopped at the cell's wall-clock limit.
SLEEPS_THROUGH_INTERRUPTS = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(1)"

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
EVERY_ANSWER_CELL = ANSWER_CELLS + ["optimizers", "training_loop"]


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


def forged(release_nb, source_nb, code):
    """The release notebook (four answers still stubs) with the transform answered and ``code`` in its cell."""
    nb = filled(copy.deepcopy(release_nb), source_nb, {"transform"})
    nbgrader_cells(nb)["transform"].source += "\n" + code
    return nb



# mallory: script payloads in her written answers and in the outputs of her code (tests/test_ui_sanitize.py).
STUDENT = "mallory"
XSS = "window.__xss=(window.__xss||0)+1;document.title='XSS';fetch('/api/terminals',{method:'POST'})"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PAYLOAD_HTML = f'<img src=x onerror="{XSS}"><script>{XSS}</script><svg onload="{XSS}"></svg>'
NOTES = f"""### Mallory's notes

{PAYLOAD_HTML}

<details open ontoggle="{XSS}"><summary>details</summary></details>
<iframe src="javascript:{XSS}"></iframe>

| layer | units |
|---|---|
| hidden | 256 |

![one pixel](data:image/png;base64,{PNG}) and the loss $x^2$.
"""
ANSWER = f"""{PAYLOAD_HTML}

1. Tanh keeps the generated pixels in $(-1, 1)$, the range of the normalised real images."""
# Code in one of mallory's answer cells: its outputs are made when autograde runs it.
CODE = "\n".join([
    "from IPython.display import HTML, Javascript, Markdown, display",
    f"XSS, PNG = {XSS!r}, {PNG!r}",
    "display(HTML(f'<img src=x onerror=\"{XSS}\"><script>{XSS}</script><b>mallory was here</b>'))",
    "display(Javascript(XSS))",
    "display(Markdown(f'<img src=x onerror=\"{XSS}\"> markdown output'))",
    "display({'image/png': PNG}, raw=True, metadata={'image/png': {'width': '1 onload=' + XSS}})",
])
def mallorys_notebook():
    """The solution with payloads in answer cells (autograde runs and shows only those): Task 1 and 2 and
    the code of Task 3."""
    nb = nbformat.read(SOURCE_NB, as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    nb.cells[ids.index("task1_answer")].source = ANSWER
    nb.cells[ids.index("task2_answer")].source = NOTES
    nb.cells[ids.index("show_generated_digits")].source += "\n" + CODE
    return nb
