"""tools/run_lab.py: executes a notebook with live progress and writes it like nbconvert --execute."""
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO

TRAIN = """import time
print('epoch 1/2  D loss 1.0  G loss 1.0', flush=True)
time.sleep(0.3)
print('epoch 2/2  D loss 0.9  G loss 1.1')
print('    quality: fine')"""
BAR = r"""import sys
for i in range(3):
    sys.stderr.write(f'\rprogress-bar {i}/3'); sys.stderr.flush()
sys.stderr.write('\n')
print('done')"""


def run_lab(tmp_path, *cells):
    nb_path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), nb_path)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "run_lab.py"), str(nb_path),
                           "--output-dir", str(tmp_path / "out"), "--output", "executed.ipynb"],
                          capture_output=True, text=True, timeout=120)
    return proc, tmp_path / "out" / "executed.ipynb"


def test_progress_and_output_notebook(tmp_path):
    proc, out = run_lab(tmp_path, TRAIN, BAR)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "lab.ipynb" in lines[0] and "GAN_PROFILE" in lines[0]
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2 and all(line.endswith("left]") for line in epochs), proc.stdout
    assert "elapsed, about 0 s left]" in epochs[1]
    assert "    quality: fine" in lines and "done" in lines
    assert "progress-bar" not in proc.stdout + proc.stderr
    assert "written to" in lines[-1] and str(out) in lines[-1]
    nb = nbformat.read(out, as_version=4)
    assert "epoch 2/2" in "".join(o.text for o in nb.cells[0].outputs)
    assert any("progress-bar 2/3" in o.get("text", "") for o in nb.cells[1].outputs)


def test_error_stops_and_writes_partial_notebook(tmp_path):
    proc, out = run_lab(tmp_path, "print('first cell ran')", "raise ValueError('boom in cell 2')",
                        "print('never')")
    assert proc.returncode == 1
    assert "ValueError" in proc.stderr and "boom in cell 2" in proc.stderr
    assert "never" not in proc.stdout
    nb = nbformat.read(out, as_version=4)
    assert nb.cells[0].outputs[0].text == "first cell ran\n"
    assert nb.cells[1].outputs[0].ename == "ValueError"
    assert nb.cells[2].outputs == []
