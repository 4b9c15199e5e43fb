"""What code made a training run (Section 4, the training loop: a checkpoint is resumed only by the same code).

:func:`fingerprint` maps each function, class, model, optimiser and data loader of the run to a short
hash of what it does, and each simple module-level constant that its functions read (``REAL_LABEL``,
``NOISE_DIM``...) to a hash of its value. Comments, blank lines and re-running a cell change nothing;
an edited line of code, a constant's new value or another learning rate changes the entry of that
name, so :class:`helpers.checkpoint.Checkpoint` can say what changed.

- a function: its compiled code (bytecode, constants, names read, defaults), without line numbers;
- a class (your ``Generator``): every function in its body, so classes defined in a notebook work too;
- a model: its ``repr`` (the layers); an optimiser: its type and hyperparameters (``lr``, ``betas``...);
- a ``DataLoader``: its batch size and the number of images; anything else: its ``repr``.

Usage::

    fingerprint(Generator, train_step, criterion, train_loader, generator=generator, opt_g=opt_g)
    # {"Generator": "3f9a1c0d2b7e", "train_step": ..., "BCELoss": ..., "DataLoader": ..., "generator": ...,
    #  "opt_g": ..., "REAL_LABEL": ..., "NOISE_DIM": ...}
"""
import dis
import hashlib
import types

import torch
from torch.utils.data import DataLoader


def fingerprint(*things, **named_things) -> dict:
    """``{name: hash}`` for each thing (named by its ``__name__`` or its type) and each constant its code reads."""
    hashes, constants = {}, {}
    for name, thing in [(getattr(t, "__name__", type(t).__name__), t) for t in things] + list(named_things.items()):
        if name in hashes:
            raise ValueError(f"fingerprint got two things called {name}: pass one of them by keyword")
        hashes[name] = _short(_describe(thing, constants))
    for name, value in constants.items():
        hashes.setdefault(name, _short(repr(value)))
    return hashes


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _describe(thing, constants: dict) -> str:
    """The text that stands for ``thing``; adds the constants its code reads to ``constants``."""
    if isinstance(thing, types.FunctionType):
        _read_constants(thing.__code__, thing.__globals__, constants)
        return repr((_code(thing.__code__), thing.__defaults__, thing.__kwdefaults__))
    if isinstance(thing, type):
        functions = {name: getattr(value, "__func__", value) for name, value in vars(thing).items()}  # unwrap staticmethods
        return repr(sorted((name, _describe(f, constants)) for name, f in functions.items()
                           if isinstance(f, types.FunctionType)))
    if isinstance(thing, torch.optim.Optimizer):
        return type(thing).__name__ + repr([{k: v for k, v in group.items() if k != "params"} for group in thing.param_groups])
    if isinstance(thing, DataLoader):
        # helpers.tensor_loader batches in its sampler (batch_size=None), DataLoader(batch_size=...) itself.
        return repr((thing.batch_size or thing.sampler.batch_size, len(thing.dataset)))
    return repr(thing)  # models (their layers) and the rest


def _code(code: types.CodeType) -> tuple:
    """What a code object does: not co_firstlineno or the line table, which comments and blank lines shift."""
    return code.co_code, tuple(_constant(c) for c in code.co_consts), code.co_names


def _constant(value):
    if isinstance(value, types.CodeType):  # a nested function, lambda or comprehension
        return _code(value)
    if isinstance(value, frozenset):  # `x in {"a", "b"}`: the set's order changes from one kernel to the next
        return sorted(map(repr, value))
    return repr(value)


def _read_constants(code: types.CodeType, namespace: dict, constants: dict) -> None:
    # The globals the code loads, not every name in co_names: that also holds attribute names (`opt_d.step`),
    # which a notebook global of the same name (a loop variable `step`) must not join.
    for instruction in dis.get_instructions(code):
        name = instruction.argval
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and name in namespace and _simple(namespace[name]):
            constants[name] = namespace[name]
    for value in code.co_consts:
        if isinstance(value, types.CodeType):
            _read_constants(value, namespace, constants)


def _simple(value) -> bool:
    """A recipe constant: a number, string or tuple of them (not a module, model or device)."""
    if isinstance(value, tuple):
        return all(_simple(v) for v in value)
    return isinstance(value, (int, float, str))  # bool is an int
