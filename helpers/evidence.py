"""What the hidden tests hand to the grader's trusted re-check (autograde only).

At autograde the sandbox sets ``GAN_EVIDENCE_DIR``; the hidden tests then save, with a plain
``torch.save`` of tensors and numbers, what they computed from the student's code: weights, outputs on
fixed inputs, losses. The grader takes each file away as soon as its test cell ends, and
``grading.recheck`` loads it with ``weights_only=True`` in a process that never runs student code, to
decide the key verdicts again. Anywhere else (Validate, CI, a laptop) ``save`` does nothing.

Usage (in a hidden test): ``save(test_name, **tensors_and_numbers)``.
"""
import os

import torch


def _plain(value):
    """``value`` with every tensor detached, on the CPU and a copy of its own."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def save(name, **values):
    """Write ``values`` to ``$GAN_EVIDENCE_DIR/<name>.pt`` when grading; otherwise nothing."""
    folder = os.environ.get("GAN_EVIDENCE_DIR")
    if folder:
        torch.save(_plain(values), os.path.join(folder, f"{name}.pt"))
