"""Fast training without changing the recipe (Section 4, the training loop; ``make bench``).

- :class:`TensorLoader` serves the same batches a ``DataLoader(dataset, batch_size, shuffle=True)``
  does (same batch size, same number of batches, a fresh shuffle every epoch), but from a tensor copy
  of the dataset made once with the dataset's own transform and kept on the training device: no
  per-image PIL work every epoch, no host-to-device copies on a GPU.
- :func:`precision` is bf16 autocast on CPUs that multiply bf16 matrices natively (AVX512-BF16 or
  AMX) and a no-op elsewhere (slower there; on a GPU CUDA autocast refuses ``BCELoss``).
  ``GAN_PRECISION=fp32`` or ``bf16`` overrides the choice.

Usage::

    loader = TensorLoader(train_set, batch_size=128, shuffle=True, device=device)
    for real, labels in loader:          # (B, 1, 28, 28), (B,) on device
        with precision(device):
            ...one training step...
"""
import contextlib
import math
import os

import torch


class TensorLoader:
    """The batches of ``DataLoader(dataset, batch_size, shuffle)`` from a one-off tensor copy."""

    def __init__(self, dataset, batch_size, shuffle=True, device="cpu"):
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = torch.device(device)
        first, _ = dataset[0]
        images = torch.empty(len(dataset), *torch.as_tensor(first).shape)  # (N, 1, 28, 28), filled in place
        labels = torch.empty(len(dataset), dtype=torch.long)  # (N,)
        for i in range(len(dataset)):
            image, label = dataset[i]  # the dataset's own transform, once per image
            images[i], labels[i] = torch.as_tensor(image), int(label)
        self.images, self.labels = images.to(self.device), labels.to(self.device)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)  # the last batch may be smaller, as in DataLoader

    def __iter__(self):
        n = len(self.images)
        # The global RNG shuffles, as DataLoader's does: torch.manual_seed fixes the order.
        order = torch.randperm(n, device=self.device) if self.shuffle else torch.arange(n, device=self.device)
        for batch in order.split(self.batch_size):
            yield self.images[batch], self.labels[batch]


def bf16_is_fast(device) -> bool:
    """True on CPUs whose bf16 matrix products run natively (and so beat fp32).

    Never on a GPU: there these small layers are limited by kernel launches, not arithmetic, and
    CUDA autocast refuses ``nn.BCELoss``, the lab's loss.
    """
    device = torch.device(device)
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def precision_name(device, env=None) -> str:
    """``"bf16"`` or ``"fp32"``: what :func:`precision` uses on ``device``."""
    choice = (os.environ if env is None else env).get("GAN_PRECISION", "").strip().lower()
    if choice not in ("", "fp32", "bf16"):
        raise ValueError(f"GAN_PRECISION must be 'fp32' or 'bf16', not {choice!r}")
    return choice or ("bf16" if bf16_is_fast(device) else "fp32")


def precision(device, env=None):
    """A context for the training step: bf16 autocast where it is fast, else nothing."""
    device = torch.device(device)
    if precision_name(device, env) == "fp32":
        return contextlib.nullcontext()
    # No weight-cast cache: it would keep D's pre-update bf16 weights for G's update in the same step.
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)

