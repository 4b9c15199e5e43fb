"""helpers.data: the shipped MNIST copy, its extraction, and the messages when MNIST is missing."""
import gzip
import hashlib

import numpy as np
import pytest
import torch
import torchvision

from helpers.data import MNIST_FILES, MNISTNotFoundError, mnist_root

from conftest import REPO

RAW = REPO / "data" / "MNIST" / "raw"


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_idx(path, array):
    """Write ``array`` (uint8) as a gzip'd IDX file, the format of the MNIST distribution."""
    dims = array.shape
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path):
    """A 5-image MNIST in gzip'd IDX files under tmp_path/MNIST/raw/, and its images and labels."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


def test_shipped_archives_match_their_md5sums():
    expected = dict(reversed(line.split()) for line in (RAW / "MD5SUMS.txt").read_text().splitlines())
    assert set(expected) == {f"{name}.gz" for name in MNIST_FILES}
    for name, digest in expected.items():
        assert md5(RAW / name) == digest, name


def test_shipped_copy_loads_as_the_published_mnist():
    train = torchvision.datasets.MNIST(mnist_root(), train=True, download=False)
    test = torchvision.datasets.MNIST(mnist_root(), train=False, download=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    # Published figures: the uncompressed training images' md5 (data/MNIST/README.md) and pixel statistics.
    assert md5(RAW / "train-images-idx3-ubyte") == "6bbc9ace898e44ae57da46a324031adb"
    pixels = train.data.float() / 255
    assert pixels.mean().item() == pytest.approx(0.1307, abs=5e-5)
    assert pixels.std().item() == pytest.approx(0.3081, abs=5e-5)
    assert torch.bincount(train.targets).tolist()[:3] == [5923, 6742, 5958]


def test_extracts_archives_that_torchvision_then_reads(tiny_mnist):
    root, images, labels = tiny_mnist
    assert mnist_root(root, download_fallback=False) == root
    dataset = torchvision.datasets.MNIST(root, train=True, download=False)
    np.testing.assert_array_equal(dataset.data.numpy(), images)
    np.testing.assert_array_equal(dataset.targets.numpy(), labels)
    assert not list((root / "MNIST" / "raw").glob("*.partial"))


def test_mnist_root_env_variable(tiny_mnist, monkeypatch):
    root, _, _ = tiny_mnist
    monkeypatch.setenv("MNIST_ROOT", str(root))
    assert mnist_root(download_fallback=False) == root


def test_missing_dataset_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(MNISTNotFoundError) as err:
        mnist_root(tmp_path, download_fallback=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "MNIST_ROOT" in message and "git checkout" in message


def test_failed_download_fallback_is_reported(tmp_path, monkeypatch):
    calls = []

    def offline_mnist(root, train, download):
        calls.append((root, train, download))
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline_mnist)
    with pytest.raises(MNISTNotFoundError, match="download failed too.*Error downloading"):
        mnist_root(tmp_path)
    assert calls == [(tmp_path, True, True)]


def test_download_fallback_is_used_when_nothing_is_shipped(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torchvision.datasets, "MNIST", lambda root, train, download: calls.append((root, train, download)))
    assert mnist_root(tmp_path) == tmp_path
    assert calls == [(tmp_path, True, True), (tmp_path, False, True)]
