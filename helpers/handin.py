"""Your run's figures packed into the notebook, for a course that takes one file per student (Canvas, Moodle).

The notebook's last section calls :func:`pack_results`. After the full run it shows which of the files that
Tasks 2 and 4 are graded on (``PACKED``) it put into the cell's output, where they travel with the notebook
as base64 in an output of their own type (``MIMETYPE``). When an upload has no ``results/`` folder, the
grader unpacks them there before it grades (``grading/unpack.py``). The generator weights stay out (3 MB
each): without them the grader shows Task 4's figures as your run measured them, not measured again.
"""
import base64
from pathlib import Path

from IPython.display import display

MIMETYPE = "application/vnd.gan-mnist.results+json"
PACKED = ("epoch_10.png", "epoch_20.png", "epoch_30.png", "final_grid.png", "loss_curve.png", "interpolation.png",
          "history.csv", "quality.json", "seed.txt")
LARGEST_FILE = 2_000_000  # bytes; the run's images are 5-110 kB


def packed_output(results_dir) -> dict:
    """The display bundle: a line for the reader and the files of ``results_dir`` in ``PACKED``."""
    results_dir = Path(results_dir)
    files = {name: (results_dir / name).read_bytes() for name in PACKED if (results_dir / name).is_file()}
    missing = [name for name in PACKED if name not in files]
    text = (f"Packed into this notebook for the grader: {', '.join(files) or 'nothing'} "
            f"({sum(map(len, files.values())) / 1000:.0f} kB). Save the notebook (Ctrl+S) before you upload it.")
    if missing:
        text += f"\nNot in {results_dir}/: {', '.join(missing)}: run the whole notebook once (the full training)."
    return {"text/plain": text, MIMETYPE: {"files": {name: base64.b64encode(data).decode() for name, data in files.items()}}}


def pack_results(profile) -> None:
    """Put the full run's figures into this cell's output (nothing in the short grading run)."""
    if profile.quick:
        print("The short grading run packs nothing: the figures of your full run travel in this cell's saved output.")
        return
    display(packed_output(profile.full_results_dir), raw=True)


def packed_files(nb) -> dict:
    """{file name: base64 text} of the files packed in the notebook ``nb`` (the last packing output wins)."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            files = output.get("data", {}).get(MIMETYPE, {})
            if isinstance(files, dict) and isinstance(files.get("files"), dict):
                found = {name: text for name, text in files["files"].items() if name in PACKED and isinstance(text, str)}
    return found
