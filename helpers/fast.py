"""Fast training without changing the recipe (Section 2's ``train_loader``, the setup cell's ``ctx``; ``make bench``).

- :func:`tensor_loader` is a ``DataLoader`` that serves the same batches as
  ``DataLoader(dataset, batch_size, shuffle=True)`` under the same seed (the same samplers draw the
  same order from the global RNG), from a tensor copy of the dataset made once with the dataset's own
  transform and kept on the training device: no per-image PIL work every epoch, no host-to-device
  copies on a GPU.
- :func:`precision` is bf16 autocast for the training run on CPUs that multiply bf16 matrices natively
  (AVX512-BF16 or AMX) and a no-op elsewhere (slower there; on a GPU CUDA autocast refuses ``BCELoss``).
  Grading and CI runs (the short profile) stay in float32, so that every machine grades the same
  numbers. ``GAN_PRECISION=fp32`` or ``bf16`` overrides the choice.

Usage (nanoGPT's pattern: the context wraps the forward passes and the losses, not backward or the
optimiser step, as PyTorch's AMP guide says)::

    train_loader = tensor_loader(train_set, batch_size=128, shuffle=True, device=device)
    ctx = precision(device)
    with ctx:
        loss = criterion(model(x), y)
    loss.backward()
"""
import contextlib
import os

import torch
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


def bf16_is_fast(device) -> bool:
    """True on CPUs whose bf16 matrix products run natively (and so beat fp32).

    Never on a GPU: there these small layers are limited by kernel launches, not arithmetic, and
    CUDA autocast refuses ``nn.BCELoss``, the lab's loss.
    """
    device = torch.device(device)
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


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
