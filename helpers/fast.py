"""Fast training without changing the recipe, and what it runs on (the setup cell; Section 2's ``train_loader``; ``make bench``).

- :func:`pick_device` is an NVIDIA GPU (CUDA) where there is one, else Apple silicon's GPU (MPS), else the CPU.
- :func:`tensor_loader` is a ``DataLoader`` that serves the same batches as
  ``DataLoader(dataset, batch_size, shuffle=True)`` under the same seed (the same samplers draw the
  same order from the global RNG), from a tensor copy of the dataset made once with the dataset's own
  transform and kept on the training device: no per-image PIL work every epoch, no host-to-device
  copies on a GPU.
- :func:`precision` is bf16 autocast for the training run on CPUs that multiply bf16 natively
  (AVX512-BF16 or AMX) and a no-op elsewhere: on other CPUs, AVX-512 ones included, PyTorch emulates bf16
  and a step takes 3 times as long as in float32 (42 against 13 ms on a 2-core Xeon with AVX-512 and
  no AVX512-BF16); on a GPU CUDA autocast refuses ``BCELoss`` (MPS stays in float32 too: not measured here).
  Grading and CI runs (the short profile) stay in float32, so that every machine grades the same
  numbers. ``GAN_PRECISION=fp32`` or ``bf16`` overrides the choice.
- :func:`what_runs_here` is the setup cell's report: the device, the precision and the expected time of
  the run, from a few timed training steps of networks of the lab's sizes.

Usage (the notebook's setup cell and the cell that runs the training)::

    device = pick_device()
    train_loader = tensor_loader(train_set, batch_size=128, shuffle=True, device=device)
    ctx = precision(device)
    print(what_runs_here(device, PROFILE))
    with ctx:
        train(...)  # the student's plain loop and step: no precision in their code

PyTorch's AMP guide puts autocast around the forward passes and the losses only; around the whole step
(backward and the optimiser's step too) a CPU step gives the same numbers, bit for bit (backward runs in the
dtypes the forward pass chose; Adam's arithmetic is not autocast): tests/test_fast.py checks it.
"""
import contextlib
import math
import os
import time

import torch
import torch.nn as nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from .profile import lab_profile


def tensor_loader(dataset, batch_size, shuffle=True, device="cpu") -> DataLoader:
    """The batches of ``DataLoader(dataset, batch_size, shuffle)`` from a one-off tensor copy of ``dataset``."""
    first, _ = dataset[0]
    if not isinstance(first, torch.Tensor):
        raise TypeError(f"the dataset's transform makes a {type(first).__name__}, not a tensor: end it with transforms.ToTensor() "
                        "(and Normalize after it)")
    images = torch.empty(len(dataset), *torch.as_tensor(first).shape)  # (N, 1, 28, 28), filled in place
    labels = torch.empty(len(dataset), dtype=torch.long)  # (N,)
    for i in range(len(dataset)):
        image, label = dataset[i]  # the dataset's own transform, once per image
        images[i], labels[i] = torch.as_tensor(image), int(label)
    tensors = TensorDataset(images.to(device), labels.to(device))
    order = RandomSampler(tensors) if shuffle else SequentialSampler(tensors)
    # A whole batch of indices per fetch (batch_size=None): one tensor index instead of 128 item lookups.
    return DataLoader(tensors, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


def pick_device() -> torch.device:
    """An NVIDIA GPU (CUDA) where there is one, else Apple silicon's GPU (MPS), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware: AVX512-BF16 (Intel Cooper Lake and later, AMD Zen 4) or AMX."""
    return any(getattr(torch.cpu, check, lambda: False)() for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def bf16_is_fast(device) -> bool:
    """True on CPUs that multiply bf16 natively, where the training steps beat float32's.

    Never on a GPU: there these small layers are limited by kernel launches, not arithmetic, and
    CUDA autocast refuses ``nn.BCELoss``, the lab's loss.
    """
    device = torch.device(device)
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and native_bf16()


def precision_name(device, env=None) -> str:
    """``"bf16"`` or ``"fp32"``: what :func:`precision` uses on ``device``."""
    env = os.environ if env is None else env
    choice = env.get("GAN_PRECISION", "").strip().lower()
    if choice not in ("", "fp32", "bf16"):
        raise ValueError(f"GAN_PRECISION must be 'fp32' or 'bf16', not {choice!r}")
    return choice or ("bf16" if bf16_is_fast(device) and not lab_profile(env).quick else "fp32")


def precision(device, env=None):
    """The context for the forward passes and losses: bf16 autocast where it is fast, else nothing."""
    device = torch.device(device)
    if precision_name(device, env) == "fp32":
        return contextlib.nullcontext()
    # No weight-cast cache: it would keep D's pre-update bf16 weights for G's update in the same step.
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)


WARM_UP, STEPS_TIMED = 10, 20  # about half a second on a 2-core CPU
SIZES = {"G": (100, 256, 512, 1024, 784), "D": (784, 512, 256, 1)}  # the layer sizes of Section 3's tables
# What a full run takes on top of its steps at the fastest stand-in step's pace (the activations, busier moments,
# the data, each epoch's bookkeeping, the four quality measurements): `make lab` on a 2-core Xeon trained 50 x 469
# steps in 444 s, where the stand-in step takes 12.5 ms (0.93 of the lab's step, side by side).
OVERHEAD = 1.5


def seconds_per_step(device, ctx, batch_size=128) -> float:
    """The time of one training step on ``device`` under ``ctx``, the fastest of a few (the steadiest measure of a
    busy computer's pace), with the random numbers put back afterwards: the student's run draws the same.

    The step is a stand-in with the lab's work: Linear layers of the tables' sizes (the activations, a sliver of
    the time, left out), G once forward, D three times, both backward, both Adam updates."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        first, second = (nn.Sequential(*(nn.Linear(a, b) for a, b in zip(SIZES[net], SIZES[net][1:]))).to(device)
                         for net in ("G", "D"))
        first_adam, second_adam = (torch.optim.Adam(net.parameters(), fused=True) for net in (first, second))
        real = torch.rand(batch_size, SIZES["D"][0], device=device)
        times = []
        for _ in range(WARM_UP + STEPS_TIMED):
            started = time.perf_counter()
            with ctx:
                made = first(torch.randn(batch_size, SIZES["G"][0], device=device))
                loss = second(real).float().mean() + second(made.detach()).float().mean()
            second_adam.zero_grad()
            loss.backward()
            second_adam.step()
            with ctx:
                loss = second(made).float().mean()
            first_adam.zero_grad()
            loss.backward()
            first_adam.step()
            loss.item()  # waits for a GPU to finish
            times.append(time.perf_counter() - started)
    return min(times[WARM_UP:])


def what_runs_here(device, profile, batch_size=128, env=None) -> str:
    """Two lines for the setup cell: the device and the precision, and how long this profile's training will take here."""
    device = torch.device(device)
    name = precision_name(device, env)
    if device.type == "cuda":
        where, why = f"the GPU ({torch.cuda.get_device_name(device)})", "the GPU's default"
    elif device.type == "mps":
        where, why = "Apple silicon's GPU (MPS)", "the GPU's default"
    else:
        where = f"the CPU ({os.cpu_count()} cores)"
        why = ("it multiplies bf16 natively" if name == "bf16" else "bf16 only in the full run" if native_bf16()
               else "no native bf16 on this CPU")
    step = seconds_per_step(device, precision(device, env), batch_size)
    steps = math.ceil((profile.train_images or 60_000) / batch_size)
    total = profile.epochs * steps * step * OVERHEAD
    length = f"about {total / 60:.0f} minutes" if total >= 90 else f"about {math.ceil(total)} s"
    return (f"device: {where}; precision: {'bfloat16' if name == 'bf16' else 'float32'} ({why})\n"
            f"{profile.label}: {steps} steps an epoch, {step * 1000:.0f} ms a step here: {length} in all")
