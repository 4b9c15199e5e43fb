"""benchmarks/recipe.py is the notebook's solution, and both of its ways make the same updates."""
import json
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from conftest import REPO, nbgrader_cells

sys.path.insert(0, str(REPO / "benchmarks"))
import recipe  # noqa: E402


@pytest.fixture(scope="module")
def solution(source_nb):
    """The notebook's Generator, Discriminator and train_step, run from its solution cells."""
    cells = nbgrader_cells(source_nb)
    namespace = {"torch": torch, "nn": nn, "NOISE_DIM": 100, "REAL_LABEL": 0.9, "FAKE_LABEL": 0.0}
    for grade_id in ("generator", "discriminator", "train_step"):
        exec(cells[grade_id].source, namespace)
    return namespace


def test_constants_match_the_notebook(source_nb):
    setup = nbgrader_cells(source_nb)["setup"].source
    for line in ("NOISE_DIM = 100", "BATCH_SIZE = 128", "LR = 2e-4", "BETAS = (0.5, 0.999)", "REAL_LABEL = 0.9", "FAKE_LABEL = 0.0"):
        assert line in setup
        name, value = line.split(" = ")
        assert getattr(recipe, name) == eval(value)


def test_models_and_step_equal_the_solution(solution):
    nets = {}
    for origin, (G, D) in {"notebook": (solution["Generator"], solution["Discriminator"]),
                           "recipe": (recipe.Generator, recipe.Discriminator)}.items():
        torch.manual_seed(0)
        g, d = G(), D()
        nets[origin] = (g, d, torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                        torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    torch.manual_seed(1)
    batches = [(torch.rand(32, 1, 28, 28) * 2 - 1, torch.randn(32, 100)) for _ in range(3)]
    for real, noise in batches:
        losses_nb = solution["train_step"](*nets["notebook"], nn.BCELoss(), real, noise)
        losses_recipe = recipe.recipe_step(*nets["recipe"], nn.BCELoss(), real, noise)
        assert losses_nb == tuple(v.item() for v in losses_recipe)
    for a, b in zip(nets["notebook"][:2], nets["recipe"][:2]):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("way", recipe.WAYS)
def test_both_ways_make_one_update_per_batch(way):
    epochs = []
    generator, history = recipe.train(way, epochs=2, train_images=300, device="cpu",
                                      on_epoch=lambda epoch, g, seconds: epochs.append(epoch))
    assert epochs == [1, 2] and len(history["D"]) == len(history["G"]) == 2
    assert all(0 < v < 10 for v in history["D"] + history["G"])
    # 300 images in batches of 128: 3 updates an epoch, the last batch of 44 included, as DataLoader does.
    assert history["updates"] == 6


def test_unknown_way_is_refused():
    with pytest.raises(ValueError, match="way must be one of"):
        recipe.train("turbo", epochs=1)


def test_bench_prints_the_figures_as_last_line_json():
    """`make bench`'s script on a small slice of MNIST, one short repeat: the JSON carries every figure."""
    out = subprocess.run([sys.executable, "benchmarks/train_speed.py", "--epochs", "1", "--repeats", "1",
                          "--train-images", "1280"], cwd=REPO, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(out.strip().splitlines()[-1])
    for key in ("plain_s_per_epoch", "lab_s_per_epoch", "speedup", "plain_peak_rss_mb", "lab_peak_rss_mb", "quality_floor"):
        assert report[key], key
    assert report["speedup"] == round(report["plain_s_per_epoch"] / report["lab_s_per_epoch"], 2)
    assert report["quality_floor"]["fid"] < 10
