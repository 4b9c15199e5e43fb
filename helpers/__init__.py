"""Helper package for the GAN-on-MNIST lab: the notebook imports it as ``helpers``.

Each module has one job and says which part of the lab uses it:
``data`` (find MNIST offline), ``profile`` (full run or short grading run),
``plots`` (digit grids, loss curves, the Task 4 comparison),
``fast`` (the training loop's fast data and precision), ``checkpoint`` (resume after a restart),
``quality`` (FID, confidence and digit coverage of generated digits: training loop and Task 4),
``integrity`` (grading: notices monkeypatched functions), ``evidence`` (grading: what the hidden
tests hand to the grader's trusted re-check).
"""
from . import evidence, integrity, quality
from .checkpoint import Checkpoint
from .data import MNISTNotFoundError, mnist_root
from .fast import TensorLoader, precision
from .plots import plot_losses, save_samples, show_epoch_images
from .profile import lab_profile

__all__ = ["Checkpoint", "MNISTNotFoundError", "TensorLoader", "evidence", "integrity", "lab_profile", "mnist_root",
           "plot_losses", "precision", "quality", "save_samples", "show_epoch_images"]
