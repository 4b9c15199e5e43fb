"""helpers.integrity: the hidden tests notice functions replaced by notebook code."""
import math

import pytest
import torch

from helpers.integrity import assert_untouched, patched_functions


def test_nothing_is_patched_in_a_fresh_process():
    assert patched_functions() == []
    assert_untouched()


def test_names_each_monkeypatched_function(monkeypatch):
    monkeypatch.setattr(math, "isclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(torch.Tensor, "max", lambda self, *args: torch.tensor(0.0))
    assert patched_functions() == ["math.isclose", "torch.allclose", "Tensor.max"]
    with pytest.raises(AssertionError, match="replaces math.isclose, torch.allclose, Tensor.max, which the tests use"):
        assert_untouched()


def test_restoring_the_original_is_fine(monkeypatch):
    monkeypatch.setattr(torch, "equal", torch.equal)
    assert patched_functions() == []
