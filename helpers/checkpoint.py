"""Resume the training run after a kernel restart (Section 4, the training loop, through ``helpers.TrainingRun``).

Every 5 epochs the run saves G, D, both optimisers, the history, whatever else it hands over (the
animation's frames) and the random number generators' state to ``results/checkpoint.pt`` (written to
a temporary file and renamed, so an interrupted save never leaves half a checkpoint). Re-running the
training cell after a restart loads it and carries on from that epoch, exactly as if the run had never
stopped, provided the same code made it: a checkpoint stores the run's :func:`helpers.fingerprint.fingerprint`,
and one made by other code (an edited ``train_step``, another ``REAL_LABEL``) is left alone, with a
line that says what changed. Delete the file to train from scratch. nbgrader never collects it
(``checkpoint.pt`` is in ``CourseDirectory.ignore`` in nbgrader_config.py; the generator weights beside it are collected).

Usage::

    checkpoint = Checkpoint(path, fingerprint(...), generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d)
    saved = {}
    start_epoch = checkpoint.resume(history, saved)  # 0 if there is nothing to resume; saved: save()'s extras
    ...
    checkpoint.save(epoch, history, frames=frames)
"""
import copy
import os
from pathlib import Path

import torch


class Checkpoint:
    def __init__(self, path, fingerprint=None, **objects):
        """``fingerprint``: ``{name: hash}`` of the code that makes the run (None: not checked);
        ``objects``: the models and optimisers to save, by name (anything with a state_dict)."""
        self.path = Path(path) if path else None  # None: never save or resume (grading runs)
        self.fingerprint = fingerprint
        self.objects = objects

    def save(self, epoch, history, **extra) -> None:
        """Save after ``epoch``; ``extra``: more state by name, handed back by :meth:`resume`."""
        if self.path is None:
            return
        state = {name: obj.state_dict() for name, obj in self.objects.items()}
        state.update(epoch=epoch, history=history, extra=extra, fingerprint=self.fingerprint, rng_cpu=torch.get_rng_state())
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)

    def resume(self, history, extra=None) -> int:
        """Load the checkpoint if there is one that fits; fill ``history`` and the dict ``extra`` (with what
        :meth:`save` got as ``extra``); return the epoch to continue after (0: start from scratch)."""
        if self.path is None or not self.path.is_file():
            return 0
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        if self.fingerprint is not None and state.get("fingerprint") != self.fingerprint:
            saved = state.get("fingerprint") or {}
            changed = [name for name in {**self.fingerprint, **saved} if saved.get(name) != self.fingerprint.get(name)]
            print(f"{self.path} was made by other code ({', '.join(changed)}): training from scratch")
            return 0
        try:  # on copies first: a checkpoint that does not fit must leave the models untouched
            for name, obj in self.objects.items():
                copy.deepcopy(obj).load_state_dict(state[name])
        except (KeyError, RuntimeError, ValueError) as err:
            print(f"{self.path} does not fit these models ({str(err).splitlines()[0]}): training from scratch")
            return 0
        for name, obj in self.objects.items():
            obj.load_state_dict(state[name])
        torch.set_rng_state(state["rng_cpu"])
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        for key, values in state["history"].items():
            history[key] = list(values)
        if extra is not None:
            extra.update(state["extra"])
        print(f"resuming from {self.path}: epoch {state['epoch']} done (delete the file to start over)")
        return state["epoch"]
