"""helpers.fast: tensor_loader is a DataLoader with a plain DataLoader's batches; precision picks bf16 only for the
full run on CPUs that do it natively, or where asked."""
import contextlib

import pytest
import torch
import torchvision
import torchvision.transforms as transforms

from helpers import mnist_root
from helpers.fast import bf16_is_fast, precision, precision_name, tensor_loader


@pytest.fixture(scope="module")
def small_set():
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    mnist = torchvision.datasets.MNIST(mnist_root(), train=True, download=False, transform=transform)
    return torch.utils.data.Subset(mnist, range(300))


def test_batches_equal_a_dataloaders_under_the_same_seed(small_set):
    loader = tensor_loader(small_set, batch_size=128, shuffle=True)
    assert isinstance(loader, torch.utils.data.DataLoader) and len(loader) == 3  # 128, 128, 44: no batch dropped
    for seed in (0, 7):
        torch.manual_seed(seed)
        oracle = list(torch.utils.data.DataLoader(small_set, batch_size=128, shuffle=True))
        torch.manual_seed(seed)
        ours = list(loader)
        assert len(ours) == len(oracle)
        for (x, y), (x_ref, y_ref) in zip(ours, oracle):
            assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_each_epoch_is_a_fresh_shuffle_of_every_image_once(small_set):
    loader = tensor_loader(small_set, batch_size=128, shuffle=True)
    orders = [torch.cat([y for _, y in loader]) for _ in range(2)]  # the labels, in the order served
    images = [torch.cat([x for x, _ in loader]) for _ in range(2)]
    assert all(sorted(o.tolist()) == sorted(small_set[i][1] for i in range(len(small_set))) for o in orders)
    assert not torch.equal(images[0], images[1])


def test_a_transform_without_to_tensor_gets_a_clear_message():
    pil_set = torchvision.datasets.MNIST(mnist_root(), train=True, download=False)  # no transform: PIL images
    with pytest.raises(TypeError, match="transforms.ToTensor"):
        tensor_loader(torch.utils.data.Subset(pil_set, range(4)), batch_size=2)


def test_precision_choice_and_override():
    native = "bf16" if bf16_is_fast("cpu") else "fp32"
    assert precision_name("cpu", {}) == native
    assert precision_name("cpu", {"GAN_PROFILE": "quick"}) == precision_name("cpu", {"NBGRADER_EXECUTION": "autograde"}) == "fp32"
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

