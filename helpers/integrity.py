"""Notice when notebook code replaces functions that the graded test cells rely on (grading).

The setup cell imports ``helpers`` before any student code runs, so this module records the
genuine functions then; the hidden tests start with a call of :func:`assert_untouched`,
which fails that test cell, naming the function, if a later cell has monkeypatched one, as in
``torch.allclose = lambda *args, **kwargs: True``.
"""
import builtins
import copy
import math

import torch
import torch.nn as nn

_WATCHED = [
    (builtins, ["abs", "all", "any", "float", "isinstance", "len", "max", "min", "sum", "tuple", "zip"]),
    (math, ["isclose", "isfinite"]),
    (copy, ["deepcopy"]),
    (torch, ["allclose", "cat", "corrcoef", "equal", "full", "isclose", "ones", "randn", "sigmoid",
             "stack", "tanh", "zeros"]),
    (torch.Tensor, ["__eq__", "__ge__", "__gt__", "__le__", "__lt__", "__sub__", "abs", "all", "any", "flatten",
                    "item", "max", "mean", "min", "norm", "view"]),
    (nn.functional, ["binary_cross_entropy", "leaky_relu"]),
    (nn.Module, ["__call__", "parameters"]),
    (nn.BCELoss, ["forward"]),
]
# Not watched: torch.manual_seed and optimizer.step, which torch itself rewraps at run time.
_ORIGINAL = {(owner, name): getattr(owner, name) for owner, names in _WATCHED for name in names}


def patched_functions():
    """Names of the watched functions that no longer are the ones recorded at import."""
    return [f"{getattr(owner, '__name__', owner)}.{name}" for (owner, name), original in _ORIGINAL.items()
            if getattr(owner, name) is not original]


def assert_untouched():
    patched = patched_functions()
    assert not patched, (
        f"this notebook replaces {', '.join(patched)}, which the tests use: remove the cell that does it")
