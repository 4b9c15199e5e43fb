"""Find MNIST for the lab without touching the network (Section 2, "Data").

The four gzip'd IDX files ship in ``data/MNIST/raw/``: next to the notebook in the
students' hand-out (``make handout``), at the top of the course repository (where
``helpers`` is an editable install). ``torchvision.datasets.MNIST(root, download=False)``
only reads the *extracted* files, so :func:`mnist_root` unpacks them next to the
archives once and returns the ``root`` to hand to torchvision. Without the archives
it falls back to torchvision's own download (into ``data/`` next to the notebook);
when that fails too, :class:`MNISTNotFoundError` says where it looked and what to do.

Usage::

    root = mnist_root()
    train_set = torchvision.datasets.MNIST(root, train=True, download=False, transform=...)
"""
import gzip
import os
import shutil
from pathlib import Path

REPOSITORY_DATA_ROOT = Path(__file__).resolve().parent.parent / "data"  # the course repository's (editable install)
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNISTNotFoundError(FileNotFoundError):
    """Neither the shipped copy nor torchvision's download produced MNIST."""


def _extract_shipped_archives(raw: Path) -> bool:
    """Unpack ``raw/<name>.gz`` to ``raw/<name>`` where needed; True if all four are there."""
    for name in MNIST_FILES:
        target = raw / name
        if target.is_file():
            continue
        archive = raw / f"{name}.gz"
        if not archive.is_file():
            return False
        # never leave a truncated file behind; a name of its own, as two kernels may unpack at once
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        with gzip.open(archive, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, target)
    return True


def default_root() -> Path:
    """``$MNIST_ROOT``; else the course repository's ``data/`` when ``helpers`` runs from the repository (the
    instructor's, and grading: a ``data/`` folder that a submission brings along is never read there); else
    ``data/`` next to the notebook (the kernel's folder: the students' hand-out)."""
    if os.environ.get("MNIST_ROOT"):
        return Path(os.environ["MNIST_ROOT"])
    if (REPOSITORY_DATA_ROOT / "MNIST" / "raw").is_dir():
        return REPOSITORY_DATA_ROOT
    return Path.cwd() / "data"


def mnist_root(root=None, download_fallback=True) -> Path:
    """Return a torchvision ``root`` whose ``MNIST/raw/`` holds the extracted MNIST files (``root``
    defaults to :func:`default_root`)."""
    root = Path(root or default_root())
    raw = root / "MNIST" / "raw"
    if _extract_shipped_archives(raw):
        return root
    download_error = None
    if download_fallback:
        import torchvision

        try:
            torchvision.datasets.MNIST(root, train=True, download=True)
            torchvision.datasets.MNIST(root, train=False, download=True)
            return root
        except Exception as err:  # no network, proxy, checksum...: report below
            download_error = err
    raise MNISTNotFoundError(
        f"MNIST not found. Looked for the files {', '.join(MNIST_FILES)} "
        f"(or their .gz archives) in {raw}"
        + (f"; torchvision's download failed too ({download_error})" if download_error else "")
        + ". Fix: put the hand-out's data/ folder back next to the notebook (or, in the course repository, "
        "git checkout -- data), or set MNIST_ROOT to a folder that contains MNIST/raw/."
    )
