"""benchmarks/: the bench trains the notebook's own solution, and every way makes one update per batch."""
import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO, SOURCE_NB
from grading import reference


def load_benchmark(name):
    """benchmarks/<name>.py as a module (benchmarks/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recipe = load_benchmark("recipe")


def test_the_bench_trains_the_notebooks_own_solution(monkeypatch):
    """No copy of the solution: train() runs the classes, step and loop that grading.reference takes from the notebook."""
    assert recipe.SOURCE_NB == SOURCE_NB
    fresh = reference.load(SOURCE_NB)
    fresh_loop = reference.load(SOURCE_NB, ("training_loop",) + reference.SOLUTION_CELLS)
    for name, cell in (("Generator", "generator"), ("Discriminator", "discriminator"), ("train_step", "train_step"),
                       ("train", "training_loop")):
        ours, notebooks = getattr(recipe.SOLUTION, name), getattr(fresh_loop, name)
        code, notebooks_code = ((f.__init__ if isinstance(f, type) else f).__code__ for f in (ours, notebooks))
        assert code.co_filename == f"<{cell}>"  # compiled from the notebook's cell, not from a file
        assert code.co_code == notebooks_code.co_code
    for name in ("NOISE_DIM", "BATCH_SIZE", "LR", "BETAS"):
        assert getattr(recipe, name) == getattr(fresh, name)
    steps = []

    def spy(generator, discriminator, *args):
        steps.append((generator, discriminator))
        return 1.0, 1.0

    monkeypatch.setitem(recipe.SOLUTION.train.__globals__, "train_step", spy)  # what the notebook's loop calls
    generator, history = recipe.train("lab", epochs=1, train_images=130, device="cpu")
    assert type(generator) is recipe.Generator and len(steps) == 2  # 130 images: batches of 128 and 2
    assert all(g is generator and type(d) is recipe.Discriminator for g, d in steps)
    assert history["D"] == history["G"] == [1.0]


@pytest.mark.parametrize("way", recipe.WAYS)
def test_every_way_makes_one_update_per_batch(way):
    epochs = []
    _, history = recipe.train(way, epochs=2, train_images=300, device="cpu",
                              on_epoch=lambda epoch, g, seconds: epochs.append(epoch))
    assert epochs == [1, 2] and len(history["D"]) == len(history["G"]) == 2
    assert all(isinstance(v, float) and 0 < v < 10 for v in history["D"] + history["G"])
    # 300 images in batches of 128: 3 updates an epoch, the last batch of 44 included, as DataLoader does.
    assert history["updates"] == 6


def test_unknown_way_is_refused():
    with pytest.raises(ValueError, match="way must be one of"):
        recipe.train("turbo", epochs=1)


@pytest.mark.slow
def test_bench_prints_the_figures_as_last_line_json():
    """`make bench`'s script on a small slice of MNIST, one short repeat: the JSON carries every figure."""
    out = subprocess.run([sys.executable, "benchmarks/train_speed.py", "--epochs", "1", "--repeats", "1",
                          "--train-images", "1280"], cwd=REPO, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(out.strip().splitlines()[-1])
    for key in ("plain_s_per_epoch", "lab_s_per_epoch", "speedup", "plain_peak_rss_mb", "lab_peak_rss_mb", "quality_floor"):
        assert report[key], key
    assert report["speedup"] == round(report["plain_s_per_epoch"] / report["lab_s_per_epoch"], 2)
    assert report["quality_floor"]["fid"] < 10
