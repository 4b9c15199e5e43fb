"""The notebook's solution trained outside the notebook, the plain way or the lab's way (instructor side).

The file holds no model or step of its own: ``Generator``, ``Discriminator``, ``train_step`` and the
constants come from the solution cells of ``source/gan_mnist/gan_mnist.ipynb`` via ``grading.reference``,
so the benchmarks always train the notebook's solution. Only the ways of feeding that step live here:

- ``plain``: torchvision MNIST with the per-image transform, ``DataLoader``, fp32, plain ``Adam``.
- ``lab``: what the notebook does: ``train_loader`` is ``helpers.tensor_loader`` (on the device), and the
  ``ctx`` that ``train_step`` puts its forward passes and losses under is ``helpers.precision`` (bf16
  autocast on CPUs that do bf16 natively), Adam as the optimiser cell makes it (``fused=True``); the loop is
  the notebook's loop without its bookkeeping.
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
SOLUTION = reference.load(SOURCE_NB, ("transform", *reference.SOLUTION_CELLS))
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


def train(way, epochs, seed=0, device=None, train_images=None, on_epoch=None):
    """Train G and D for ``epochs``; call ``on_epoch(epoch, generator, seconds)`` after each epoch.

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
    criterion = nn.BCELoss()
    if way == "plain":
        loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    else:  # the notebook's train_loader
        loader = helpers.tensor_loader(train_set, batch_size=BATCH_SIZE, shuffle=True, device=device)
    train_step.__globals__["ctx"] = helpers.precision(device, precision_env(way))  # the setup cell's ctx
    adam = {"lr": LR, "betas": BETAS} if way == "plain" else {"lr": LR, "betas": BETAS, "fused": True}  # the optimiser cell's
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    history = {"D": [], "G": [], "updates": 0, "setup_s": time.perf_counter() - started}
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        d_losses, g_losses = [], []
        for real, _ in loader:
            real = real.to(device)  # (B, 1, 28, 28); tensor_loader's batches are already there
            noise = torch.randn(real.size(0), NOISE_DIM, device=device)  # (B, 100)
            d_loss, g_loss = train_step(generator, discriminator, opt_g, opt_d, criterion, real, noise)
            d_losses.append(d_loss)
            g_losses.append(g_loss)
            history["updates"] += 1
        history["D"].append(sum(d_losses) / len(d_losses))
        history["G"].append(sum(g_losses) / len(g_losses))
        if on_epoch:
            on_epoch(epoch, generator, time.perf_counter() - started)
    return generator, history
