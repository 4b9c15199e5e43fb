"""Re-record the reference outputs that nbval compares in a source notebook.

Usage: GAN_PROFILE=quick python -m grading.record source/gan_mnist/gan_mnist.ipynb   (run by `make record`)

Runs the notebook in its own folder (as nbval and nbgrader do), keeps the outputs of the cells
tagged ``nbval-check-output`` (cell metadata: students never see it) and clears every other output,
so the instructor notebook stays small and its diffs readable.
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK_TAG = "nbval-check-output"


def checked(cell) -> bool:
    return CHECK_TAG in cell.metadata.get("tags", [])


def record(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # Errors are let through only in the cells nbval skips too (Validate's results/ reminder, which fails here).
    NotebookClient(nb, timeout=600, iopub_timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    failed = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "nbval-skip" not in cell.metadata.get("tags", [])
              and any(output.output_type == "error" for output in cell.outputs)]
    if failed:
        sys.exit(f"{path}: cells {failed} raised errors; nothing recorded")
    for cell in nb.cells:
        if cell.cell_type == "code" and not checked(cell):
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)  # timestamps: noise in diffs
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print(f"recorded {sum(checked(c) for c in nb.cells)} checked cells in {path}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        record(Path(arg))
