"""Resume the training run after a kernel restart (Section 4, the training loop).

Every 5 epochs the loop saves G, D, both optimisers, the loss history and the random number
generators' state to ``results/checkpoint.pt`` (written to a temporary file and renamed, so an
interrupted save never leaves half a checkpoint). Re-running the training cell after a restart
loads it and carries on from that epoch, exactly as if the run had never stopped. Delete the
file to train from scratch. nbgrader never collects it (``*.pt`` is ignored in nbgrader_config.py).

Usage::

    checkpoint = Checkpoint(path, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d)
    start_epoch = checkpoint.resume(history)  # 0 if there is nothing to resume
    ...
    checkpoint.save(epoch, history)
"""
import copy
import os
from pathlib import Path

import torch


class Checkpoint:
    def __init__(self, path, **objects):
        """``objects``: the models and optimisers to save, by name (anything with a state_dict)."""
        self.path = Path(path) if path else None  # None: never save or resume (grading runs)
        self.objects = objects

    def save(self, epoch, history) -> None:
        if self.path is None:
            return
        state = {name: obj.state_dict() for name, obj in self.objects.items()}
        state.update(epoch=epoch, history=history, rng_cpu=torch.get_rng_state())
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)

    def resume(self, history) -> int:
        """Load the checkpoint if there is one; fill ``history``; return the epoch to continue after."""
        if self.path is None or not self.path.is_file():
            return 0
        state = torch.load(self.path, map_location="cpu", weights_only=False)
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
        print(f"resuming from {self.path}: epoch {state['epoch']} done (delete the file to start over)")
        return state["epoch"]
