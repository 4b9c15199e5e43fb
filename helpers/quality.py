"""How good are the generated digits, in numbers (Task 4 and ``make bench``).

A small CNN trained on MNIST by ``tools/train_classifier.py`` (weights committed in
``helpers/weights/mnist_cnn.pt``, 99%+ test accuracy, with its features' statistics for the real test
digits in ``mnist_test_stats.pt``) looks at 10,000 generated digits:

- ``fid``: Frechet distance between the CNN's 128 penultimate features of the generated digits
  and of the 10,000 real test digits (torchmetrics' ``FrechetInceptionDistance`` with the CNN as
  its feature extractor). Lower is better; real training digits score the floor.
- ``confidence``: the CNN's mean top-class probability: how much each image looks like *some* digit.
- ``coverage``: entropy of the predicted-digit histogram divided by log(10): 1.0 when all ten digits
  appear equally often, lower under mode collapse; ``rarest`` is the rarest digit's share times 10.

``TrainingRun.end_of_epoch`` records the figures of the student's run in ``results/quality.json`` and the
generator's weights in ``results/generator_epoch_N.pt`` (:func:`record`, half precision, 3 MB: the
grader measures the figures again from them); Task 4 shows them beside the reference run's
(``reference_quality.json``, made by ``make bench-quality``) and the floor (:func:`comparison_table`).

Usage::

    figures = quality.measure_generator(generator)  # {"fid": ..., "confidence": ..., ...}
    floor = quality.real_floor()                    # the same figures for real training digits
"""
import json
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn as nn
import torchvision
from torchmetrics.image.fid import FrechetInceptionDistance

from .data import mnist_root

WEIGHTS = Path(__file__).resolve().parent / "weights" / "mnist_cnn.pt"
REAL_STATS = WEIGHTS.with_name("mnist_test_stats.pt")  # real_test_statistics(), 130 kB
REFERENCE = Path(__file__).resolve().parent / "reference_quality.json"
RUN_FILE = "quality.json"  # in a run's results folder: {"10": figures, "20": ...}
SAMPLES = 10_000  # generated digits per measurement, as many as the real test digits
NOISE_DIM = 100
EVAL_SEED = 1234  # the same noise every time, so figures of different epochs and runs compare
REMEASURE_SAMPLES = 2_000  # the grader's re-measure of a submitted generator: a fifth of the time
# How far a re-measure on REMEASURE_SAMPLES digits falls from a run's record on SAMPLES, at most (FID: a share of
# it): benchmarks/remeasure_spread.py measured 6.2%, 0.0098, 0.0133 and 0.119 on the demo run's epochs 10-30,
# 5 noise seeds each; rounded up.
SPREAD = {"fid": 0.08, "confidence": 0.015, "coverage": 0.02, "rarest": 0.15}
FIGURE_NAMES = ("fid", "confidence", "coverage", "rarest")


class MnistCNN(nn.Module):
    """Two conv blocks and a 128-unit feature layer; ``forward`` gives the 10 class logits."""

    num_features = 128

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),  # (B, 128)
        )
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.features(x.view(-1, 1, 28, 28)))  # (B, 10)


class _PrecomputedFeatures(nn.Identity):
    """FID's 'feature extractor' for features the CNN already computed (once per image, also for the class)."""

    num_features = MnistCNN.num_features


def mnist_images(train: bool) -> torch.Tensor:
    """All MNIST training or test digits as a (N, 1, 28, 28) float tensor in [-1, 1], the GAN's range."""
    data = torchvision.datasets.MNIST(mnist_root(), train=train, download=False).data
    return (data.float() / 127.5 - 1).unsqueeze(1)


@lru_cache(maxsize=1)
def load_classifier() -> MnistCNN:
    """The committed CNN on the CPU, in eval mode."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"{WEIGHTS} is missing: run `make classifier` to train it (about 3 minutes)")
    cnn = MnistCNN()
    cnn.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return cnn.eval()


def _fid() -> FrechetInceptionDistance:
    """FID on the CNN's features, computed by the caller; the real side kept across ``reset()``."""
    return FrechetInceptionDistance(feature=_PrecomputedFeatures(), reset_real_features=False)


def real_test_statistics(fresh=False) -> dict:
    """FID's real side: the sum, outer-product sum and count of the CNN's features of the 10,000 real test
    digits, as ``make classifier`` saved them beside the weights (computed here if ``fresh`` or missing)."""
    if REAL_STATS.is_file() and not fresh:
        return torch.load(REAL_STATS, map_location="cpu", weights_only=True)
    fid = _fid()
    with torch.no_grad():
        for batch in mnist_images(train=False).split(1000):
            fid.update(load_classifier().features(batch), real=True)  # (b, 128)
    return {"sum": fid.real_features_sum, "cov_sum": fid.real_features_cov_sum, "count": fid.real_features_num_samples}


@lru_cache(maxsize=1)
def _fid_with_real_test_features() -> FrechetInceptionDistance:
    fid = _fid()
    stats = real_test_statistics()
    fid.real_features_sum, fid.real_features_cov_sum, fid.real_features_num_samples = stats["sum"], stats["cov_sum"], stats["count"]
    return fid


@torch.no_grad()
def measure_images(images: torch.Tensor) -> dict:
    """Figures for (N, 1, 28, 28) or (N, 784) images in [-1, 1], against the real test digits."""
    images = images.detach().float().cpu().reshape(-1, 1, 28, 28).clamp(-1, 1)
    fid = _fid_with_real_test_features()
    fid.reset()  # keeps the real features
    counts = torch.zeros(10)
    confidence = 0.0
    cnn = load_classifier()
    for batch in images.split(1000):
        features = cnn.features(batch)  # (b, 128)
        fid.update(features, real=False)
        probs = cnn.head(features).softmax(dim=1)  # (b, 10)
        confidence += probs.max(dim=1).values.sum().item()
        counts += torch.bincount(probs.argmax(dim=1), minlength=10).float()
    share = counts / counts.sum()
    entropy = -(share * share.clamp_min(1e-12).log()).sum() / torch.log(torch.tensor(10.0))
    return {
        "fid": round(fid.compute().item(), 3),
        "confidence": round(confidence / len(images), 4),
        "coverage": round(entropy.item(), 4),
        "rarest": round(share.min().item() * 10, 3),
    }


@torch.no_grad()
def measure_generator(generator: nn.Module, samples: int = SAMPLES, seed: int = EVAL_SEED) -> dict:
    """Figures for ``samples`` digits that ``generator`` makes from fixed noise (``seed``)."""
    device = next(generator.parameters()).device
    noise = torch.randn(samples, NOISE_DIM, generator=torch.Generator().manual_seed(seed))  # (N, 100)
    images = torch.cat([generator(z.to(device)).float().cpu() for z in noise.split(1000)])  # (N, 784)
    return measure_images(images)


def real_floor(samples: int = SAMPLES) -> dict:
    """The figures of ``samples`` real training digits: the best a generator can hope for."""
    return measure_images(mnist_images(train=True)[:samples])


def weights_file(results_dir, epoch: int) -> Path:
    return Path(results_dir) / f"generator_epoch_{epoch}.pt"


def missing_results(results_dir, epochs=(10, 20, 30)) -> list:
    """The files of a full run that Tasks 2 and 4 are graded on and ``results_dir`` lacks (Validate's reminder)."""
    needed = ([f"epoch_{epoch}.png" for epoch in epochs] + [weights_file(".", epoch).name for epoch in epochs]
              + ["loss_curve.png"])
    return [name for name in needed if not (Path(results_dir) / name).is_file()]


def record(generator: nn.Module, epoch: int, results_dir) -> dict:
    """Measure ``generator``, add its figures under ``epoch`` to ``results_dir/quality.json`` and keep its
    weights (half precision) in ``results_dir/generator_epoch_N.pt``."""
    path = Path(results_dir) / RUN_FILE
    runs = json.loads(path.read_text()) if path.is_file() else {}
    runs[str(epoch)] = figures = measure_generator(generator)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs, indent=1) + "\n")
    torch.save({name: tensor.detach().half().cpu() for name, tensor in generator.state_dict().items()},
               weights_file(results_dir, epoch))
    return figures


def recorded(results_dir) -> dict:
    """{epoch: figures} that a run recorded in ``results_dir/quality.json`` (what the student's Task 4 table shows);
    {} where there is none or it is not such a record."""
    path = Path(results_dir) / RUN_FILE
    try:
        runs = json.loads(path.read_text()) if path.is_file() and not path.is_symlink() else {}
        return {str(epoch): {key: float(figures[key]) for key in FIGURE_NAMES} for epoch, figures in runs.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def off_the_record(remeasured, recorded_figures) -> list:
    """The figures (names) that a re-measure on REMEASURE_SAMPLES digits misses the recorded ones by more than SPREAD."""
    limits = dict(SPREAD, fid=SPREAD["fid"] * recorded_figures["fid"])
    return [key for key in FIGURE_NAMES if abs(remeasured[key] - recorded_figures[key]) > limits[key]]


def comparison_table(results_dir, epochs=(10, 20, 30), remeasured=None, samples=REMEASURE_SAMPLES) -> str:
    """A text table: this run's recorded figures at ``epochs`` (from ``results_dir``), the reference run's and the
    real-data floor. With ``remeasured`` ({"10": figures} the grader measured from the submitted weights), each
    epoch also gets the re-measure (on ``samples`` digits) and its difference from the record, "!" where it exceeds
    the measurement's spread."""
    yours, reference = recorded(results_dir), json.loads(REFERENCE.read_text())
    formats = {"fid": "{:.1f}", "confidence": "{:.3f}", "coverage": "{:.3f}", "rarest": "{:.2f}"}

    def row(label, figures, signed=False, marked=()):
        return (label, *(("{:+" + formats[key][2:]).format(figures[key]) if signed else formats[key].format(figures[key])
                         + (" !" if key in marked else "") for key in FIGURE_NAMES))

    rows = [("", "FID (lower is better)", "confidence", "coverage", "rarest digit")]
    for epoch in map(str, epochs):
        mine, theirs = yours.get(epoch), reference["figures"].get(epoch)
        rows.append(row(f"epoch {epoch}, your run", mine) if mine else (f"epoch {epoch}, your run", "not measured", "", "", ""))
        if remeasured is not None:
            again = remeasured.get(epoch)
            if not again:
                rows.append((f"epoch {epoch}, grader's re-measure", "no weights submitted", "", "", ""))
            elif mine:
                rows.append(row(f"epoch {epoch}, grader's re-measure", again, marked=off_the_record(again, mine)))
                rows.append(row("  difference", {key: again[key] - mine[key] for key in FIGURE_NAMES}, signed=True))
            else:
                rows.append(row(f"epoch {epoch}, grader's re-measure", again))
        if theirs:
            rows.append(row(f"epoch {epoch}, reference run", theirs))
    rows.append(row("real training digits (floor)", reference["floor"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    if remeasured is not None:
        table += (f"\nYour run measured {SAMPLES:,} digits an epoch, the grader {samples:,} from the submitted weights: that moves\n"
                  f"the figures by up to {SPREAD['fid']:.0%} in FID, {SPREAD['confidence']} in confidence, {SPREAD['coverage']} "
                  f"in coverage and {SPREAD['rarest']} in rarest digit ('!': farther off).\nTask 4 is graded on your run's figures.")
    return table
