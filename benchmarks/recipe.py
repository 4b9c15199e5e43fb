"""The notebook's solution trained outside the notebook, the plain way or the lab's way (instructor side).

The file holds no model, step or loop of its own: ``Generator``, ``Discriminator``, ``train_step``, ``train``
and the constants come from the solution cells of ``source/gan_mnist/gan_mnist.ipynb`` via ``grading.reference``,
so the benchmarks always train the notebook's solution. Only the ways of feeding it live here:

- ``plain``: torchvision MNIST with the per-image transform, ``DataLoader``, fp32, plain ``Adam``.
- ``lab``: what the notebook does: ``train_loader`` is ``helpers.tensor_loader`` (on the device), the training
  runs under the setup cell's ``ctx``, ``helpers.precision`` (bf16 autocast on CPUs that do bf16 natively),
  and Adam is as the optimiser cell makes it (``fused=True``); ``end_of_epoch`` only times the epoch.
- ``lab-fp32``: the lab's way with ``GAN_PRECISION=fp32`` (a CPU without native bf16).

Usage::

    generator, history = train("lab", epochs=50, seed=0, on_epoch=callback)
"""
import time
from pathlib import Path

import torch
import torch.nn as nn
import torchvision

import helpers
from grading import reference
from helpers.fast import precision_name

SOURCE_NB = Path(__file__).resolve().parent.parent / "source" / "gan_mnist" / "gan_mnist.ipynb"
SOLUTION = reference.load(SOURCE_NB, ("transform", *reference.SOLUTION_CELLS, "training_loop"))
Generator, Discriminator, train_step = SOLUTION.Generator, SOLUTION.Discriminator, SOLUTION.train_step
NOISE_DIM, BATCH_SIZE, LR, BETAS = SOLUTION.NOISE_DIM, SOLUTION.BATCH_SIZE, SOLUTION.LR, SOLUTION.BETAS
WAYS = ("plain", "lab", "lab-fp32")


def precision_env(way):
    """The environment ``helpers.fast.precision`` reads for ``way``: the full run's, fp32 where asked."""
    return {"GAN_PROFILE": "full", **({"GAN_PRECISION": "fp32"} if way in ("plain", "lab-fp32") else {})}


def precision_of(way, device) -> str:
    """``"fp32"`` or ``"bf16"``: the precision ``way`` trains in on ``device``."""
    return precision_name(device, precision_env(way))


def mnist_train_set(train_images=None):
    train_set = torchvision.datasets.MNIST(root=helpers.mnist_root(), train=True, download=False, transform=SOLUTION.transform)
    return torch.utils.data.Subset(train_set, range(train_images)) if train_images else train_set


class OnDevice:
    """A loader's batches moved to ``device`` as they come (the plain way: DataLoader's batches are on the CPU)."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, device

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return ((images.to(self.device), labels) for images, labels in self.loader)


def train(way, epochs, seed=0, device=None, train_images=None, on_epoch=None):
    """Train G and D for ``epochs`` with the notebook's ``train``; call ``on_epoch(epoch, generator, seconds)`` after each.

    Returns ``(generator, history)``; ``history`` holds the mean D and G loss of each epoch,
    ``updates`` (training steps made) and ``setup_s``, the seconds before the first step (building the loader).
    """
    if way not in WAYS:
        raise ValueError(f"way must be one of {WAYS}, not {way!r}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    started = time.perf_counter()
    train_set = mnist_train_set(train_images)
    generator, discriminator = Generator().to(device), Discriminator().to(device)
    if way == "plain":
        loader = OnDevice(torch.utils.data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True), device)
    else:  # the notebook's train_loader
        loader = helpers.tensor_loader(train_set, batch_size=BATCH_SIZE, shuffle=True, device=device)
    adam = {"lr": LR, "betas": BETAS} if way == "plain" else {"lr": LR, "betas": BETAS, "fused": True}  # the optimiser cell's
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    history = {"D": [], "G": [], "updates": 0, "setup_s": time.perf_counter() - started}
    epoch_started = time.perf_counter()

    def end_of_epoch(epoch, d_loss, g_loss):
        nonlocal epoch_started
        seconds = time.perf_counter() - epoch_started
        history["D"].append(d_loss)
        history["G"].append(g_loss)
        history["updates"] += len(loader)
        if on_epoch:
            on_epoch(epoch, generator, seconds)
        epoch_started = time.perf_counter()

    SOLUTION.train.__globals__["EPOCHS"] = epochs  # the setup cell's, for the loop's line per epoch
    with helpers.precision(device, precision_env(way)):  # the setup cell's ctx, around the training as in the notebook
        SOLUTION.train(generator, discriminator, opt_g, opt_d, nn.BCELoss(), loader, range(1, epochs + 1), end_of_epoch)
    return generator, history
