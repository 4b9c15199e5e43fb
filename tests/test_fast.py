"""helpers.fast: TensorLoader serves DataLoader's batches; precision picks bf16 only where asked or native."""
import contextlib

import pytest
import torch
import torchvision
import torchvision.transforms as transforms

from helpers import mnist_root
from helpers.fast import TensorLoader, bf16_is_fast, precision, precision_name


@pytest.fixture(scope="module")
def small_set():
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    mnist = torchvision.datasets.MNIST(mnist_root(), train=True, download=False, transform=transform)
    return torch.utils.data.Subset(mnist, range(300))


def test_unshuffled_batches_equal_dataloaders(small_set):
    oracle = list(torch.utils.data.DataLoader(small_set, batch_size=128, shuffle=False))
    ours = list(TensorLoader(small_set, batch_size=128, shuffle=False))
    assert len(ours) == len(oracle) == len(TensorLoader(small_set, 128)) == 3  # 128, 128, 44: no batch dropped
    for (x, y), (x_ref, y_ref) in zip(ours, oracle):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_each_epoch_is_a_fresh_shuffle_of_every_image_once(small_set):
    loader = TensorLoader(small_set, batch_size=128, shuffle=True)
    reference = sorted(loader.images.flatten(1).sum(1).tolist())
    orders = []
    for _ in range(2):
        images = torch.cat([x for x, _ in loader])  # (300, 1, 28, 28)
        assert sorted(images.flatten(1).sum(1).tolist()) == reference
        orders.append(images)
    assert not torch.equal(orders[0], orders[1])


def test_manual_seed_fixes_the_order(small_set):
    loader = TensorLoader(small_set, batch_size=128)
    firsts = []
    for _ in range(2):
        torch.manual_seed(7)
        firsts.append(next(iter(loader))[1])
    assert torch.equal(*firsts)


def test_precision_choice_and_override():
    native = "bf16" if bf16_is_fast("cpu") else "fp32"
    assert precision_name("cpu", {}) == native
    assert precision_name("cpu", {"GAN_PRECISION": "fp32"}) == "fp32"
    assert precision_name("cpu", {"GAN_PRECISION": "BF16"}) == "bf16"
    assert precision_name("cuda", {}) == "fp32"  # CUDA autocast refuses BCELoss
    assert isinstance(precision("cpu", {"GAN_PRECISION": "fp32"}), contextlib.nullcontext)
    with pytest.raises(ValueError, match="GAN_PRECISION must be"):
        precision_name("cpu", {"GAN_PRECISION": "fp16"})


def test_bf16_precision_runs_matrix_products_in_bf16_and_stays_close():
    layer = torch.nn.Linear(100, 784)
    x = torch.randn(128, 100)
    with precision("cpu", {"GAN_PRECISION": "bf16"}):
        low = layer(x)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), layer(x), atol=0.05)

