"""Helper package for the GAN-on-MNIST lab: the notebook imports it as ``helpers``.

Each module has one job and says which part of the lab uses it:
``data`` (find MNIST offline), ``profile`` (full run or short grading run),
``plots`` (digit grids, loss curves, the Task 4 comparison),
``integrity`` (grading: notices monkeypatched functions).
"""
from . import integrity
from .data import MNISTNotFoundError, mnist_root
from .plots import plot_losses, save_samples, show_epoch_images
from .profile import lab_profile

__all__ = ["MNISTNotFoundError", "integrity", "mnist_root", "lab_profile", "plot_losses", "save_samples", "show_epoch_images"]
