"""grading.screening: what reaches into the grader is named; the lab's own code, right or wrong, is not."""
import copy

import pytest

from conftest import nbgrader_cells
from grading.rebuild import is_solution
from grading.screening import findings, protected_names
from wrong_submissions import CATALOGUE, CORRECT_VARIANTS

# Each forges verdicts, or could: (code, the construct that must be named).
REACHING_IN = [
    ("get_ipython().ast_transformers.append(Swallow())", "get_ipython"),
    ("ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *a, **k: None)", "get_ipython"),
    ("get_ipython().events.register('post_run_cell', clear)", "get_ipython"),
    ("%load_ext autoreload", "IPython magic %load_ext"),
    ("%time get_ipython()", "get_ipython in %time"),
    ("!rm -rf results", "get_ipython"),
    ("from IPython import get_ipython", "import IPython"),
    ("import IPython.display as d", "import IPython.display"),
    ("import sys\nsys.modules['math'] = fake", "import sys"),
    ("frame = (lambda: 0).__code__", "(...).__code__"),
    ("x = exec", "exec()"),
    ("eval('1 + 1')", "eval()"),
    ("code = compile('pass', 'x', 'exec')", "compile()"),
    ("m = __import__('os')", "__import__()"),
    ("globals()['torch'] = None", "globals()"),
    ("import ast", "import ast"),
    ("import importlib", "import importlib"),
    ("import builtins\nbuiltins.len = lambda x: 0", "import builtins"),
    ("import atexit", "import atexit"),
    ("import signal", "import signal"),
    ("import ctypes", "import ctypes"),
    ("import threading", "import threading"),
    ("import os\nos._exit(0)", "os._exit"),
    ("import os\nos.kill(os.getpid(), 9)", "os.kill"),
    ("torch.allclose = lambda *a, **k: True", "assigns torch.allclose"),
    ("helpers.integrity.assert_untouched = lambda: None", "assigns helpers.integrity.assert_untouched"),
    ("del helpers.integrity", "deletes helpers.integrity"),
    ("setattr(torch, 'allclose', lambda *a, **k: True)", "setattr() on something other than self"),
    ("f = getattr(torch, 'all' + 'close')", "getattr() with a computed or private name"),
    ("helpers.integrity._ORIGINAL.clear()", "private attribute helpers.integrity._ORIGINAL"),
    ("t = torch\nt.equal = lambda a, b: True", "assigns t.equal"),
    ("x = ().__class__.__base__.__subclasses__()", "(...).__class__.__base__"),
    ("def f():\n    global math\n    math = None", "global math"),
    ("math = None", "rebinds math"),
    ("import numpy as torch", "rebinds torch"),
]


@pytest.mark.parametrize("code, construct", REACHING_IN, ids=[c for _, c in REACHING_IN])
def test_code_that_reaches_into_the_grader_is_named(code, construct):
    found = findings(code, {"math": None, "torch": "import torch"})
    assert any(f.startswith(construct) for f in found), found


def screened(nb):
    """{grade_id: findings} of the solution cells of ``nb``, as autograde screens them."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    protected = protected_names([(not is_solution(c), c.source) for c in code])
    return {c.metadata.nbgrader["grade_id"]: findings(c.source, protected[i])
            for i, c in enumerate(code) if is_solution(c) and findings(c.source, protected[i])}


@pytest.mark.parametrize("submission", [None] + CATALOGUE + CORRECT_VARIANTS, ids=lambda w: w.name if w else "reference")
def test_the_lab_right_or_wrong_is_not_flagged(source_nb, submission):
    nb = submission.applied_to(source_nb) if submission else source_nb
    assert screened(nb) == {}


def test_everyday_student_code_is_not_flagged(source_nb):
    """Re-importing what the setup imports, trying the model out, self-made layers: all fine."""
    nb = copy.deepcopy(source_nb)
    generator = nbgrader_cells(nb)["generator"]
    generator.source = ("import torch\nimport torch.nn as nn\n%matplotlib inline\n" + generator.source +
                        "\ngenerator = Generator()\nnoise = torch.randn(4, NOISE_DIM)\nprint(generator(noise).shape)\n"
                        "for i, layer in enumerate(generator.modules()):\n    print(i, layer.__class__.__name__)\n")
    assert screened(nb) == {}
