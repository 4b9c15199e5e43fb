"""helpers.fast: tensor_loader is a DataLoader with a plain DataLoader's batches; the device is CUDA, else MPS, else
the CPU; precision picks bf16 only for the full run on CPUs that do it natively (AVX512-BF16 or AMX), or where asked;
the setup cell's report says what was chosen and how long the run takes. The hardware is faked for each case."""
import contextlib
import re

import pytest
import torch
import torchvision
import torchvision.transforms as transforms

from helpers import mnist_root
from conftest import SOURCE_NB
from grading import reference
from helpers import lab_profile
from helpers.fast import bf16_is_fast, pick_device, precision, precision_name, tensor_loader, what_runs_here


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



def fake_hardware(monkeypatch, cuda=False, mps=False, avx512_bf16=False, amx=False):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize("hardware, device", [({"cuda": True, "mps": True}, "cuda"), ({"mps": True}, "mps"), ({}, "cpu")])
def test_the_device_is_cuda_else_mps_else_the_cpu(monkeypatch, hardware, device):
    fake_hardware(monkeypatch, **hardware)
    assert pick_device() == torch.device(device)


@pytest.mark.parametrize("hardware, full_run", [({"avx512_bf16": True}, "bf16"), ({"amx": True}, "bf16"), ({}, "fp32")])
def test_bf16_only_on_cpus_that_multiply_it_natively(monkeypatch, hardware, full_run):
    """An AVX-512 CPU without AVX512-BF16 or AMX (this kind of machine) emulates bf16: 3 times slower than fp32."""
    fake_hardware(monkeypatch, **hardware)
    assert precision_name("cpu", {}) == full_run
    assert precision_name("cpu", {"GAN_PROFILE": "quick"}) == "fp32"
    assert precision_name("mps", {}) == precision_name("cuda", {}) == "fp32"


def test_the_setup_cell_says_the_device_the_precision_and_the_time(monkeypatch):
    fake_hardware(monkeypatch)
    full = what_runs_here("cpu", lab_profile({"GAN_PROFILE": "full"}), env={"GAN_PROFILE": "full"})
    assert full.startswith("device: the CPU") and "precision: float32 (no native bf16 on this CPU)" in full
    assert re.search(r"your training run \(50 epochs\): 469 steps an epoch, \d+ ms a step here: about \d+ minutes in all$", full), full
    fake_hardware(monkeypatch, amx=True)
    quick = what_runs_here("cpu", lab_profile({"GAN_PROFILE": "quick"}), env={"GAN_PROFILE": "quick"})
    assert "precision: float32 (bf16 only in the full run)" in quick
    assert re.search(r"grading check: a 5-epoch short run on 1,024 images: 8 steps an epoch, \d+ ms a step here: about \d+ s in all$", quick), quick


def test_timing_the_steps_leaves_the_random_numbers_alone():
    torch.manual_seed(3)
    expected = torch.randn(5)
    torch.manual_seed(3)
    what_runs_here("cpu", lab_profile({"GAN_PROFILE": "quick"}), env={"GAN_PROFILE": "quick"})
    assert torch.equal(torch.randn(5), expected)


def test_bf16_around_the_whole_step_gives_the_numbers_of_bf16_around_forward_and_loss():
    """The notebook puts ``with ctx:`` around the student's train(); PyTorch's AMP guide around forward and loss only."""
    solution = reference.load(SOURCE_NB)
    bf16 = {"GAN_PRECISION": "bf16"}

    def nets():
        torch.manual_seed(0)
        generator, discriminator = solution.Generator(), solution.Discriminator()
        return (generator, discriminator, torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True),
                torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True))

    real, noise = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randn(64, 100)
    whole = nets()
    with precision("cpu", bf16):
        whole_losses = [solution.train_step(*whole, torch.nn.BCELoss(), real, noise) for _ in range(2)]
    split = nets()
    generator, discriminator, opt_g, opt_d = split
    bce, split_losses = torch.nn.BCELoss(), []
    for _ in range(2):  # the recipe's step with autocast around the forward passes and the losses only
        with precision("cpu", bf16):
            fake = generator(noise)
            d_loss = bce(discriminator(real), torch.full((64, 1), 0.9)) + bce(discriminator(fake.detach()), torch.zeros(64, 1))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        with precision("cpu", bf16):
            g_loss = bce(discriminator(fake), torch.ones(64, 1))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        split_losses.append((d_loss.item(), g_loss.item()))
    assert whole_losses == split_losses
    assert all(torch.equal(a, b) for net in (0, 1) for a, b in zip(whole[net].parameters(), split[net].parameters()))
