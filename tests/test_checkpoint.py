"""helpers.checkpoint.Checkpoint: a run stopped and resumed ends exactly where an uninterrupted run does."""
import copy

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from conftest import SOURCE_NB, nbgrader_cells
from hostile import wrong
from grading import reference
from helpers.checkpoint import Checkpoint
from helpers.fast import tensor_loader

SOLUTION = reference.load(SOURCE_NB)  # the notebook's Generator, Discriminator and train_step


class Crash(Exception):
    """Stands in for a kernel that dies mid-run."""


def train(epochs, checkpoint_path, crash_after=None):
    """The notebook's loop (its train_step, checkpoint every 2 epochs) on 200 random 'images'."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(200, 1, 28, 28) * 2 - 1, torch.zeros(200))
    G, D = SOLUTION.Generator(), SOLUTION.Discriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=SOLUTION.LR, betas=SOLUTION.BETAS, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=SOLUTION.LR, betas=SOLUTION.BETAS, fused=True)
    loader = tensor_loader(data, batch_size=64)
    history = {"D": [], "G": []}
    checkpoint = Checkpoint(checkpoint_path, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d)
    for epoch in range(checkpoint.resume(history) + 1, epochs + 1):
        if epoch == crash_after:
            raise Crash
        losses = [SOLUTION.train_step(G, D, opt_g, opt_d, torch.nn.BCELoss(), real, torch.randn(len(real), SOLUTION.NOISE_DIM))
                  for real, _ in loader]  # (d_loss, g_loss) floats
        history["D"].append(sum(d for d, _ in losses) / len(losses))
        history["G"].append(sum(g for _, g in losses) / len(losses))
        if epoch % 2 == 0:
            checkpoint.save(epoch, history)
    return G, D, history


def test_resumed_run_equals_uninterrupted_run(tmp_path, capsys):
    G_ref, D_ref, history_ref = train(6, None)
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Crash):
        train(6, path, crash_after=4)  # dies during epoch 4: epochs 1-3 done, checkpoint of epoch 2
    G, D, history = train(6, path)
    assert "resuming from" in capsys.readouterr().out
    assert history == history_ref and len(history["D"]) == 6
    for net, ref in ((G, G_ref), (D, D_ref)):
        assert all(torch.equal(p, q) for p, q in zip(net.parameters(), ref.parameters()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no .partial left behind


def test_checkpoint_of_other_models_is_not_loaded(tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    Checkpoint(path, generator=torch.nn.Linear(100, 10)).save(5, {"D": [1.0] * 5, "G": [1.0] * 5})
    generator = torch.nn.Linear(100, 784)
    before = copy.deepcopy(generator.state_dict())
    history = {"D": [], "G": []}
    assert Checkpoint(path, generator=generator).resume(history) == 0
    assert "does not fit these models" in capsys.readouterr().out
    assert history == {"D": [], "G": []}
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_extra_state_comes_back_and_other_code_is_named(tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    code = {"train_step": "aaa", "REAL_LABEL": "bbb"}
    Checkpoint(path, code, generator=torch.nn.Linear(2, 2)).save(5, {"D": [1.0] * 5}, frames=["f0", "f5"])
    saved = {}
    assert Checkpoint(path, code, generator=torch.nn.Linear(2, 2)).resume({}, saved) == 5
    assert saved == {"frames": ["f0", "f5"]}
    generator, history, saved = torch.nn.Linear(2, 2), {}, {}
    before = copy.deepcopy(generator.state_dict())
    other = {"train_step": "aaa", "REAL_LABEL": "ccc", "NOISE_DIM": "ddd"}
    assert Checkpoint(path, other, generator=generator).resume(history, saved) == 0
    assert f"{path} was made by other code (REAL_LABEL, NOISE_DIM): training from scratch" in capsys.readouterr().out
    assert history == saved == {}
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_no_path_means_no_checkpoint(tmp_path):
    checkpoint = Checkpoint(None, generator=torch.nn.Linear(2, 2))
    checkpoint.save(5, {"D": [], "G": []})
    assert checkpoint.resume({}) == 0


def run_notebook(nb, folder):
    """Run ``nb`` (short run) in a fresh kernel in ``folder``; return the training cell's output and the final grid."""
    nb = copy.deepcopy(nb)  # tests may fail (the bug; results/ of no full run): the training cell must not
    (folder / "results_quick" / "final_grid.png").unlink(missing_ok=True)  # each run's grid is its own
    NotebookClient(nb, timeout=300, iopub_timeout=60, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}).execute()
    training = nbgrader_cells(nb)["run_training"]
    assert not [o for o in training.outputs if o.output_type == "error"], training.outputs
    log = "".join(o.get("text", "") for o in training.outputs)
    return log, (folder / "results_quick" / "final_grid.png").read_bytes()


@pytest.mark.slow
def test_notebook_resumes_after_a_restart_and_starts_over_after_a_fix(tmp_path, monkeypatch, source_nb):
    """Run the notebook with a bug in train_step, fix it and run again: training starts over and says why;
    run it once more unchanged in a new kernel: it resumes instead of retraining."""
    monkeypatch.setenv("GAN_PROFILE", "quick")
    monkeypatch.setenv("GAN_CHECKPOINT", str(tmp_path / "checkpoint.pt"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    buggy, _ = run_notebook(wrong("no_label_smoothing").applied_to(source_nb), tmp_path)
    fixed, fixed_grid = run_notebook(source_nb, tmp_path)
    again, again_grid = run_notebook(source_nb, tmp_path)
    assert "epoch  5/5" in buggy and "resuming" not in buggy
    assert "checkpoint.pt was made by other code (train_step, REAL_LABEL): training from scratch" in fixed
    assert "epoch  1/5" in fixed and "resuming" not in fixed
    assert "resuming from" in again and "epoch  1/5" not in again
    assert again_grid == fixed_grid  # the restored generator draws the same digits
