"""The lab's recipe outside the notebook, trained the plain way or the lab's way (instructor side).

This is the solution of Sections 3 and 4 (``tests/test_recipe.py`` checks it against the solution
cells of ``source/gan_mnist/gan_mnist.ipynb``), so it lives here, not in ``helpers/``, which students get.

- ``plain``: torchvision MNIST with the per-image transform, ``DataLoader``, fp32, ``Adam``, and a
  ``loss.item()`` every step: the way the seed documents train.
- ``lab``: what the notebook's training loop does: ``helpers.TensorLoader`` on the device,
  fused Adam, ``helpers.precision`` (bf16 autocast on CPUs that do bf16 natively); on a GPU the
  step also runs as one CUDA graph (``helpers.fast.CudaGraphStep``) and the losses stay on the
  device until the end of the epoch.

Both make the same number of updates with the same batch size, hyperparameters and label smoothing.

Usage::

    generator, history = train("lab", epochs=50, seed=0, on_epoch=callback)
"""
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms

import helpers
from helpers.fast import CudaGraphStep, TensorLoader, precision, precision_name

NOISE_DIM = 100
BATCH_SIZE = 128
LR = 2e-4
BETAS = (0.5, 0.999)
REAL_LABEL = 0.9
FAKE_LABEL = 0.0
WAYS = ("plain", "lab", "lab-fp32")  # lab-fp32: the lab's way with GAN_PRECISION=fp32 (a CPU without native bf16)


class Generator(nn.Module):
    def __init__(self, noise_dim=NOISE_DIM):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(noise_dim, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 1024), nn.LeakyReLU(0.2),
            nn.Linear(1024, 784), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)  # (B, 784)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))  # (B, 784) -> (B, 1)


def recipe_step(generator, discriminator, opt_g, opt_d, criterion, real, noise):
    """One D update, then one G update; returns (d_loss, g_loss) as detached tensors (no host sync)."""
    batch_size = real.size(0)
    fake = generator(noise)  # (B, 784)

    # (1) Update D: D(real) towards REAL_LABEL, D(fake) towards FAKE_LABEL
    opt_d.zero_grad()
    d_loss = (criterion(discriminator(real), torch.full((batch_size, 1), REAL_LABEL, device=real.device))
              + criterion(discriminator(fake.detach()), torch.full((batch_size, 1), FAKE_LABEL, device=real.device)))
    d_loss.backward()
    opt_d.step()

    # (2) Update G: the updated D should call the same fakes real
    opt_g.zero_grad()
    g_loss = criterion(discriminator(fake), torch.ones(batch_size, 1, device=real.device))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def precision_env(way):
    """The environment ``helpers.fast.precision`` reads for ``way``: None means the real one."""
    return {"GAN_PRECISION": "fp32"} if way == "lab-fp32" else None


def precision_of(way, device) -> str:
    """``"fp32"`` or ``"bf16"``: the precision ``way`` trains in on ``device``."""
    return "fp32" if way == "plain" else precision_name(device, precision_env(way))


def mnist_train_set(train_images=None):
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = torchvision.datasets.MNIST(root=helpers.mnist_root(), train=True, download=False, transform=transform)
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
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=BETAS)
        opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
    else:
        loader = TensorLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, device=device)
        graphable = device.type == "cuda"  # CUDA graphs need optimisers whose step counter lives on the GPU
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=BETAS, fused=True, capturable=graphable)
        opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS, fused=True, capturable=graphable)
        # Only the tensors a CUDA graph replays are arguments; the models are fixed.
        step = CudaGraphStep(lambda real, noise: recipe_step(generator, discriminator, opt_g, opt_d, criterion, real, noise))
    history = {"D": [], "G": [], "updates": 0, "setup_s": time.perf_counter() - started}
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        if way == "plain":
            d_losses, g_losses = [], []
            for real, _ in loader:
                real = real.to(device)  # (B, 1, 28, 28)
                noise = torch.randn(real.size(0), NOISE_DIM, device=device)  # (B, 100)
                d_loss, g_loss = recipe_step(generator, discriminator, opt_g, opt_d, criterion, real, noise)
                d_losses.append(d_loss.item())
                g_losses.append(g_loss.item())
                history["updates"] += 1
            d_mean, g_mean = sum(d_losses) / len(d_losses), sum(g_losses) / len(g_losses)
        else:
            totals = torch.zeros(2, device=device)  # summed on the device: one sync per epoch
            for real, _ in loader:
                noise = torch.randn(real.size(0), NOISE_DIM, device=device)  # (B, 100)
                with precision(device, precision_env(way)):
                    d_loss, g_loss = step(real, noise)
                totals += torch.stack([d_loss.float(), g_loss.float()])
                history["updates"] += 1
            d_mean, g_mean = (totals / len(loader)).tolist()
        history["D"].append(d_mean)
        history["G"].append(g_mean)
        if on_epoch:
            on_epoch(epoch, generator, time.perf_counter() - started)
    return generator, history
