"""Helper package for the GAN-on-MNIST lab: the notebook imports it as ``helpers``.

Each module has one job and says which part of the lab uses it:
``data`` (find MNIST offline), ``profile`` (full run or short grading run),
``fast`` (the device, the fast ``train_loader``, the precision context ``ctx``, the setup cell's report),
``training`` (the training loop's bookkeeping: history, images, checkpoints, animation; ``checkpoint`` saves and
resumes; ``history`` prints the history as a table and keeps it in ``results/history.csv``),
``plots`` (digit grids, training curves, the animation, the Task 4 comparison),
``quality`` (FID, confidence and digit coverage of generated digits: training loop and Task 4),
``hints`` (a clear message for the common errors), ``handin`` (the run's figures packed into the notebook
for a single-file upload), ``integrity`` (grading: notices monkeypatched functions), ``evidence`` (grading:
what the hidden tests hand to the grader's trusted re-check).
"""
from . import evidence, handin, hints, integrity, quality
from .data import MNISTNotFoundError, mnist_root
from .fast import pick_device, precision, tensor_loader, what_runs_here
from .history import history_table
from .plots import plot_training, save_samples, show_animation, show_epoch_images, show_submitted
from .profile import lab_profile
from .training import TrainingRun

hints.install()

__all__ = ["MNISTNotFoundError", "TrainingRun", "evidence", "history_table", "integrity", "lab_profile", "mnist_root",
           "pick_device", "plot_training", "precision", "quality", "save_samples", "show_animation", "show_epoch_images",
           "show_submitted", "tensor_loader", "what_runs_here"]
