"""The run's figures packed into the notebook (helpers.handin) and unpacked by the grader (grading/unpack.py)."""
import base64

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from traitlets.config import Config

from grading.rebuild import GRADING_METADATA
from grading.unpack import UnpackResults
from helpers.handin import LARGEST_FILE, MIMETYPE, PACKED, packed_files, packed_output


def submission(root, files, results=None):
    """A submitted notebook whose packing cell holds ``files``; its folder, with ``results`` (name: bytes) beside it."""
    folder = root / "submitted" / "student" / "gan_mnist"
    (folder / "results").mkdir(parents=True)
    for name, data in (results or {}).items():
        (folder / "results" / name).write_bytes(data)
    cell = new_code_cell("helpers.handin.pack_results(PROFILE)")
    cell.outputs = [new_output("display_data", data={"text/plain": "packed", MIMETYPE: {"files": files}})]
    nbformat.write(new_notebook(cells=[cell]), folder / "gan_mnist.ipynb")
    return folder


def unpack(root, folder):
    """Run the grader's step as autograde does; the autograded results/ folder and the notes."""
    config = Config()
    config.CourseDirectory.root = str(root)
    resources = {"metadata": {"path": str(folder), "name": "gan_mnist"},
                 "nbgrader": {"student": "student", "assignment": "gan_mnist"}}
    nb, _ = UnpackResults(config=config).preprocess(new_notebook(), resources)
    return root / "autograded" / "student" / "gan_mnist" / "results", nb.metadata.get(GRADING_METADATA, {}).get("notes", [])


def test_packed_output_carries_the_run_files(tmp_path):
    (tmp_path / "epoch_10.png").write_bytes(b"png bytes")
    (tmp_path / "quality.json").write_text("{}")
    (tmp_path / "generator_epoch_10.pt").write_bytes(b"weights stay out")
    bundle = packed_output(tmp_path)
    assert set(bundle[MIMETYPE]["files"]) == {"epoch_10.png", "quality.json"}
    assert "Not in" in bundle["text/plain"] and "loss_curve.png" in bundle["text/plain"]
    nb = new_notebook(cells=[new_code_cell("")])
    nb.cells[0].outputs = [new_output("display_data", data=bundle)]
    assert base64.b64decode(packed_files(nbformat.reads(nbformat.writes(nb), 4))["epoch_10.png"]) == b"png bytes"


def test_unpack_fills_only_what_the_submission_lacks(tmp_path):
    encoded = {name: base64.b64encode(f"packed {name}".encode()).decode() for name in PACKED}
    folder = submission(tmp_path, {**encoded, "../../escape.png": encoded["seed.txt"], "run.sh": encoded["seed.txt"]})
    results = tmp_path / "autograded" / "student" / "gan_mnist" / "results"
    results.mkdir(parents=True)
    (results / "epoch_10.png").write_bytes(b"the submission's own")  # autograde copied it from the submission
    results_dir, notes = unpack(tmp_path, folder)
    assert (results_dir / "epoch_10.png").read_bytes() == b"the submission's own"
    assert (results_dir / "epoch_20.png").read_bytes() == b"packed epoch_20.png"
    assert sorted(p.name for p in results_dir.iterdir()) == sorted(PACKED)
    assert not (tmp_path / "autograded" / "escape.png").exists() and not (tmp_path / "escape.png").exists()
    assert any("taken from the figures packed in the notebook" in note for note in notes)


def test_unpack_refuses_links_oversized_and_broken_files(tmp_path):
    big = base64.b64encode(b"x" * (LARGEST_FILE + 1)).decode()
    folder = submission(tmp_path, {"epoch_10.png": big, "epoch_20.png": "not base64!", "epoch_30.png": "AAAA"})
    results = tmp_path / "autograded" / "student" / "gan_mnist" / "results"
    results.mkdir(parents=True)
    (results / "epoch_30.png").symlink_to(tmp_path / "target")
    results_dir, notes = unpack(tmp_path, folder)
    assert not (results_dir / "epoch_10.png").exists() and not (results_dir / "epoch_20.png").exists()
    assert not (tmp_path / "target").exists(), "wrote through a link"
    assert any("epoch_10.png (2,000,001 bytes)" in note and "epoch_20.png (not base64)" in note for note in notes)
