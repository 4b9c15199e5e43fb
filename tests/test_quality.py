"""helpers.quality: the committed classifier, FID against a numpy oracle, and figures that catch mode collapse."""
import json

import numpy as np
import pytest
import torch
import torchvision

from helpers import mnist_root, quality


@pytest.fixture(scope="module")
def test_digits():
    return quality.mnist_images(train=False), torchvision.datasets.MNIST(mnist_root(), train=False).targets


def test_committed_classifier_reads_99_percent_of_test_digits(test_digits):
    images, labels = test_digits
    with torch.no_grad():
        predicted = torch.cat([quality.load_classifier()(x).argmax(1) for x in images.split(1000)])
    assert (predicted == labels).float().mean() >= 0.99


def _numpy_fid(a, b):
    """Frechet distance of two feature sets, with the matrix square root from numpy's eigh."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a), 0, None)).sum()
    return ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross


def test_fid_matches_numpy_oracle(test_digits):
    images, _ = test_digits
    torch.manual_seed(0)
    noisy = (images[:3000] + 0.3 * torch.randn(3000, 1, 28, 28)).clamp(-1, 1)
    with torch.no_grad():
        features = lambda x: torch.cat([quality.load_classifier().features(b) for b in x.split(1000)]).double().numpy()
        expected = _numpy_fid(features(noisy), features(images))
    assert quality.measure_images(noisy)["fid"] == pytest.approx(expected, rel=1e-3)


def test_real_digits_score_the_floor_and_noise_scores_badly(test_digits):
    images, _ = test_digits
    assert quality.measure_images(images)["fid"] == pytest.approx(0, abs=1e-3)
    floor = quality.real_floor(samples=5000)
    assert floor["fid"] < 10 and floor["confidence"] > 0.98 and floor["coverage"] > 0.99
    noise = quality.measure_images(torch.rand(2000, 784) * 2 - 1)
    assert noise["fid"] > 100 * floor["fid"]


def test_mode_collapse_shows_in_coverage(test_digits):
    images, labels = test_digits
    ones = quality.measure_images(images[labels == 1])
    assert ones["coverage"] < 0.1 and ones["rarest"] == 0
    few = quality.measure_images(images[labels < 3])  # three digits only
    assert 0.4 < few["coverage"] < 0.5  # log(3) / log(10) = 0.477
    assert quality.measure_images(images)["coverage"] > 0.99


def test_measure_generator_uses_fixed_noise():
    generator = torch.nn.Sequential(torch.nn.Linear(100, 784), torch.nn.Tanh())
    assert quality.measure_generator(generator, samples=2000) == quality.measure_generator(generator, samples=2000)


def test_record_and_comparison_table(tmp_path):
    generator = torch.nn.Sequential(torch.nn.Linear(100, 784), torch.nn.Tanh())
    figures = quality.record(generator, 10, tmp_path)
    quality.record(generator, 20, tmp_path)
    assert json.loads((tmp_path / "quality.json").read_text()) == {"10": figures, "20": figures}
    table = quality.comparison_table(tmp_path, epochs=(10, 20, 30)).splitlines()
    assert table[0].split()[:2] == ["FID", "(lower"]
    assert any(line.startswith("epoch 10, your run") and f"{figures['fid']:.1f}" in line for line in table)
    assert any(line.startswith("epoch 30, your run") and "not measured" in line for line in table)
    assert table[-1].startswith("real training digits (floor)")


def test_reference_run_improves_and_is_far_above_the_floor():
    reference = json.loads(quality.REFERENCE.read_text())
    fids = [reference["figures"][str(epoch)]["fid"] for epoch in (10, 20, 30, 50)]
    assert fids == sorted(fids, reverse=True), f"the reference run's FID should fall with training: {fids}"
    assert reference["floor"]["fid"] < fids[-1]


def test_committed_real_statistics_are_those_of_the_committed_classifier():
    committed, fresh = quality.real_test_statistics(), quality.real_test_statistics(fresh=True)
    assert committed["count"] == fresh["count"] == 10_000
    assert torch.allclose(committed["sum"], fresh["sum"]) and torch.allclose(committed["cov_sum"], fresh["cov_sum"])


def test_the_graders_table_shows_the_record_the_re_measure_and_their_difference(tmp_path):
    generator = torch.nn.Sequential(torch.nn.Linear(100, 784), torch.nn.Tanh())
    recorded = {"10": quality.record(generator, 10, tmp_path), "20": quality.record(generator, 20, tmp_path)}
    close = {key: value * 1.01 for key, value in recorded["10"].items()}  # within the spread
    far = dict(recorded["20"], fid=recorded["20"]["fid"] * 1.5)  # FID off by half
    table = quality.comparison_table(tmp_path, epochs=(10, 20, 30), remeasured={"10": close, "20": far}).splitlines()
    line = {row.split("  ")[0]: row for row in table}
    assert f"{recorded['10']['fid']:.1f}" in line["epoch 10, your run"]
    assert f"{close['fid']:.1f}" in line["epoch 10, grader's re-measure"] and "!" not in line["epoch 10, grader's re-measure"]
    assert f"{far['fid']:.1f} !" in line["epoch 20, grader's re-measure"]
    assert f"+{far['fid'] - recorded['20']['fid']:.1f}" in [row for row in table if row.startswith("  difference")][1]
    assert "not measured" in line["epoch 30, your run"] and "no weights submitted" in line["epoch 30, grader's re-measure"]
    assert "Task 4 is graded on your run's figures" in table[-1]
    assert quality.off_the_record(far, recorded["20"]) == ["fid"] and quality.off_the_record(close, recorded["10"]) == []
