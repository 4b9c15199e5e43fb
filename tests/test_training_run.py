"""helpers.TrainingRun: the bookkeeping of the student's training loop (history, GIF, checkpoints of the same code)."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from helpers.fingerprint import fingerprint
from helpers.history import history_table, read_history
from helpers.profile import lab_profile
from helpers.training import TrainingRun

REPO = Path(__file__).resolve().parent.parent  # not conftest's: the new kernels below import this file, and conftest takes seconds

# The notebook in miniature (tiny models; the source notebook changes too often to borrow from), run as a kernel
# runs cells: exec'd in one namespace, so that classes and functions have no source file for inspect to read.
NOTEBOOK = '''
import torch
import torch.nn as nn

NOISE_DIM = 8
REAL_LABEL = 0.9


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(NOISE_DIM, 784), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))


def train_step(generator, discriminator, opt_g, opt_d, criterion, real, noise):
    n = real.size(0)
    fake = generator(noise)
    opt_d.zero_grad()
    d_loss = criterion(discriminator(real), torch.full((n, 1), REAL_LABEL)) + criterion(discriminator(fake.detach()), torch.zeros(n, 1))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = criterion(discriminator(fake), torch.ones(n, 1))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def train(generator, discriminator, opt_g, opt_d, criterion, train_loader, epochs, end_of_epoch, stop_at=None):
    for epoch in epochs:
        if epoch == stop_at:
            raise RuntimeError("the kernel died")
        d_losses, g_losses = [], []
        for real, _ in train_loader:
            noise = torch.randn(real.size(0), NOISE_DIM)
            d_loss, g_loss = train_step(generator, discriminator, opt_g, opt_d, criterion, real, noise)
            d_losses.append(d_loss)
            g_losses.append(g_loss)
        end_of_epoch(epoch, sum(d_losses) / len(d_losses), sum(g_losses) / len(g_losses))
'''


def kernel(source=NOTEBOOK):
    """A fresh kernel that has run ``source`` and the setup cells; returns its namespace."""
    nb = {"__name__": "__main__"}
    exec(compile(source, "<notebook>", "exec"), nb)
    torch.manual_seed(0)
    nb["generator"], nb["discriminator"] = nb["Generator"](), nb["Discriminator"]()
    nb["opt_g"] = torch.optim.Adam(nb["generator"].parameters(), lr=2e-4, betas=(0.5, 0.999))
    nb["opt_d"] = torch.optim.Adam(nb["discriminator"].parameters(), lr=2e-4, betas=(0.5, 0.999))
    nb["criterion"] = nn.BCELoss()
    images = torch.rand(128, 1, 28, 28) * 2 - 1  # (128, 1, 28, 28) in [-1, 1]
    nb["train_loader"] = DataLoader(TensorDataset(images, torch.zeros(128)), batch_size=32, shuffle=True)
    nb["real_batch"] = next(iter(nb["train_loader"]))[0]
    nb["fixed_noise"] = torch.randn(64, nb["NOISE_DIM"])
    return nb


def code(nb):
    return [nb["Generator"], nb["Discriminator"], nb["train_step"], nb["train"], nb["criterion"], nb["train_loader"]]


def new_run(nb, tmp_path, epochs=7, checkpoint=True):
    """The locked cell's TrainingRun, for a profile of ``epochs`` that writes under ``tmp_path``."""
    profile = dataclasses.replace(lab_profile({"GAN_PROFILE": "quick"}), epochs=epochs, results_dir=tmp_path / "results",
                                  checkpoint_path=tmp_path / "checkpoint.pt" if checkpoint else None, quality_epochs=())
    return TrainingRun(profile, nb["generator"], nb["discriminator"], nb["opt_g"], nb["opt_d"], nb["fixed_noise"],
                       nb["real_batch"], code=code(nb))


def run_lab(tmp_path, source=NOTEBOOK, epochs=7, checkpoint=True, stop_at=None):
    """Run the miniature notebook in a fresh kernel, through its own train(); return the kernel and the run."""
    nb = kernel(source)
    run = new_run(nb, tmp_path, epochs, checkpoint)
    nb["train"](nb["generator"], nb["discriminator"], nb["opt_g"], nb["opt_d"], nb["criterion"], nb["train_loader"], run.epochs,
                run.end_of_epoch, stop_at)
    return nb, run


def test_resumed_run_ends_where_an_uninterrupted_run_ends(tmp_path, capsys):
    ref_nb, ref = run_lab(tmp_path / "uninterrupted", checkpoint=False)
    with pytest.raises(RuntimeError, match="the kernel died"):
        run_lab(tmp_path / "resumed", stop_at=7)  # dies during epoch 7: the checkpoint has epochs 1-5
    nb, run = run_lab(tmp_path / "resumed")
    assert f"resuming from {tmp_path / 'resumed' / 'checkpoint.pt'}: epoch 5 done" in capsys.readouterr().out
    assert run.epochs == range(6, 8)
    assert run.history == ref.history and [len(v) for v in run.history.values()] == [7, 7, 7, 7]
    for name in ("generator", "discriminator"):
        assert all(torch.equal(p, q) for p, q in zip(nb[name].parameters(), ref_nb[name].parameters()))
    assert len(run.frames) == len(ref.frames) == 8
    assert all(np.array_equal(a, b) for a, b in zip(run.frames, ref.frames))
    gif = "results/training.gif"
    assert (tmp_path / "resumed" / gif).read_bytes() == (tmp_path / "uninterrupted" / gif).read_bytes()


def test_bookkeeping_does_not_change_training(tmp_path):
    """The same notebook trained by a bare loop, without TrainingRun, ends with the same weights and losses."""
    ref_nb, ref = run_lab(tmp_path, checkpoint=True)
    nb = kernel()
    for _ in range(7):
        losses = [nb["train_step"](nb["generator"], nb["discriminator"], nb["opt_g"], nb["opt_d"], nb["criterion"], real,
                                   torch.randn(real.size(0), nb["NOISE_DIM"])) for real, _ in nb["train_loader"]]
    assert ref.history["D"][-1] == sum(d for d, _ in losses) / len(losses)
    for name in ("generator", "discriminator"):
        assert all(torch.equal(p, q) for p, q in zip(nb[name].parameters(), ref_nb[name].parameters()))


def test_end_of_epoch_leaves_models_and_random_numbers_alone(tmp_path):
    """Even for models with BatchNorm, Dropout and noise drawn in forward, in training mode."""
    class NoisyGenerator(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 784), nn.BatchNorm1d(784), nn.Tanh())

        def forward(self, z):
            return self.net(z + 0.1 * torch.randn_like(z))

    nb = kernel()
    nb["generator"], nb["discriminator"] = NoisyGenerator(), nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(784, 1),
                                                                           nn.Sigmoid())
    before = [{k: v.clone() for k, v in nb[name].state_dict().items()} for name in ("generator", "discriminator")]
    rng = torch.get_rng_state()
    run = new_run(nb, tmp_path, epochs=5)
    for epoch in run.epochs:
        run.end_of_epoch(epoch, 1.3, 0.8)
    assert torch.equal(torch.get_rng_state(), rng)
    after = [nb[name].state_dict() for name in ("generator", "discriminator")]
    assert all(torch.equal(b[k], a[k]) for b, a in zip(before, after) for k in b)
    assert nb["generator"].training and nb["discriminator"].training
    assert all(0 < v < 1 for v in run.history["D(x)"] + run.history["D(G(z))"])


@pytest.mark.parametrize("old, new, changed", [
    ("REAL_LABEL = 0.9", "REAL_LABEL = 0.8", "REAL_LABEL"),
    ("torch.ones(n, 1))", "torch.full((n, 1), 0.95))", "train_step"),
    ("x.view(x.size(0), -1)", "x.reshape(x.size(0), -1)", "Discriminator"),
])
def test_other_code_trains_from_scratch_and_says_what_changed(tmp_path, capsys, old, new, changed):
    run_lab(tmp_path, epochs=5)
    assert NOTEBOOK.count(old) == 1
    _, run = run_lab(tmp_path, NOTEBOOK.replace(old, new), epochs=5)
    out = capsys.readouterr().out
    assert f"{tmp_path / 'checkpoint.pt'} was made by other code ({changed}): training from scratch" in out
    assert "resuming" not in out and len(run.history["D"]) == 5 and len(run.frames) == 6


def test_comments_and_blank_lines_do_not_count(tmp_path, capsys):
    run_lab(tmp_path, epochs=5)
    edited = NOTEBOOK.replace("    fake = generator(noise)\n", "    # the fakes of both updates\n\n    fake = generator(noise)  # (B, 784)\n")
    edited = edited.replace("class Generator(nn.Module):\n", "# G\nclass Generator(nn.Module):\n    # noise to digits\n\n")
    _, run = run_lab(tmp_path, edited, epochs=5)
    assert "resuming from" in capsys.readouterr().out
    assert run.epochs == range(6, 6) and len(run.history["D"]) == 5


def lab_fingerprint() -> dict:
    """The fingerprint of the miniature notebook with a set literal, whose order differs from one kernel to the next."""
    nb = kernel(NOTEBOOK + '\n\ndef pick(side):\n    return side in {"real", "fake", "both", "neither"}\n')
    return fingerprint(*code(nb), nb["pick"], generator=nb["generator"], opt_g=nb["opt_g"])


def test_fingerprint_takes_the_globals_code_loads_not_attribute_names():
    """A test cell's loop variable `step` must not join train_step's fingerprint through `opt_d.step()`."""
    namespace = {"REAL_LABEL": 0.9, "step": 3}
    exec("def train_step(opt_d):\n    opt_d.step()\n    return REAL_LABEL", namespace)
    assert sorted(fingerprint(namespace["train_step"])) == ["REAL_LABEL", "train_step"]


def test_fingerprint_is_the_same_in_a_new_kernel():
    script = "import json, sys; sys.path.insert(0, 'tests'); import test_training_run as t; print(json.dumps(t.lab_fingerprint()))"
    kernels = [json.loads(subprocess.run([sys.executable, "-c", script], cwd=REPO, env=dict(os.environ, PYTHONHASHSEED=seed),
                                         capture_output=True, text=True, check=True).stdout) for seed in ("1", "2")]
    assert kernels[0] == kernels[1] == lab_fingerprint()
    assert list(kernels[0]) == ["Generator", "Discriminator", "train_step", "train", "BCELoss", "DataLoader", "pick",
                                "generator", "opt_g", "NOISE_DIM", "REAL_LABEL"]


def test_gif_has_a_frame_per_epoch_and_epoch_0(tmp_path):
    _, run = run_lab(tmp_path, epochs=7, checkpoint=False)
    with Image.open(tmp_path / "results" / "training.gif") as gif:
        assert gif.n_frames == 8 and gif.info["loop"] == 0
        gif.seek(7)
        assert gif.info["duration"] > 250  # the last frame stays longer
        assert np.array_equal(np.asarray(gif.convert("L")), run.frames[-1] // 16 * 17)  # in 16 grey levels
    assert run.frames[0].shape == (242 + 14, 242) and run.frames[0].dtype == np.uint8


def test_end_of_epoch_says_how_to_call_it(tmp_path):
    run = new_run(kernel(), tmp_path, checkpoint=False)
    run.end_of_epoch(1, 1.25, torch.tensor(0.75))
    with pytest.raises(ValueError, match=r"end_of_epoch\(3\) after epoch 1 of 7: call it once per epoch, with the "
                                         r"epoch number from the epochs train\(\) is given"):
        run.end_of_epoch(3, 1.0, 1.0)
    with pytest.raises(TypeError, match="d_loss should be a number, the epoch's mean loss, not list"):
        run.end_of_epoch(2, [1.3, 1.2], 1.0)
    assert run.history["D"] == [1.25] and run.history["G"] == [0.75] and type(run.history["G"][0]) is float


def test_the_run_saves_the_grids_every_5_epochs_the_final_grid_and_the_history(tmp_path):
    _, run = run_lab(tmp_path, epochs=7, checkpoint=False)
    results = tmp_path / "results"
    assert sorted(p.name for p in results.glob("epoch_*.png")) == ["epoch_5.png"] and (results / "final_grid.png").is_file()
    with Image.open(results / "final_grid.png") as grid:  # the fixed noise's 64 digits, 8 a row
        assert grid.size == (242, 242)
    assert read_history(results / "history.csv") == run.history and len(run.history["D(G(z))"]) == 7
    assert history_table(run.history).splitlines()[0].split() == ["epoch", "D", "loss", "G", "loss", "D(x)", "D(G(z))"]
