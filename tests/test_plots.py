"""helpers.plots: digit grids on disk, loss curves, and the Task 4 side-by-side view."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torchvision.utils as vutils
from PIL import Image

from helpers.plots import plot_losses, save_samples, show_epoch_images

matplotlib.use("Agg")  # plt.show() is a no-op and the figure stays open for inspection


def test_save_samples_maps_minus_one_to_black_and_one_to_white(tmp_path):
    images = torch.linspace(-1, 1, 16 * 784).reshape(16, 784)  # (B, 784), as the generator makes them
    path = save_samples(images, tmp_path / "sub" / "grid.png", nrow=4)
    saved = np.asarray(Image.open(path).convert("L"))
    assert saved.shape == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    expected = vutils.make_grid(((images + 1) / 2).reshape(16, 1, 28, 28), nrow=4)[0]  # oracle: torchvision
    np.testing.assert_allclose(saved, (expected * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy(), atol=1)
    assert saved[2, 2] == 0 and saved[-3, -3] == 255


def test_plot_losses_saves_one_line_per_network(tmp_path):
    plot_losses({"D": [1.3, 1.2, 1.25], "G": [0.8, 0.9, 1.0]}, tmp_path / "loss.png")
    fig = plt.gcf()
    assert (tmp_path / "loss.png").stat().st_size > 0
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["D loss", "G loss"]
    assert list(lines[1].get_xdata()) == [1, 2, 3] and list(lines[1].get_ydata()) == [0.8, 0.9, 1.0]


def test_epoch_images_side_by_side(tmp_path):
    for epoch, shade in [(10, 0), (20, 128), (30, 255)]:
        Image.fromarray(np.full((30, 30), shade, np.uint8)).save(tmp_path / f"epoch_{epoch}.png")
    show_epoch_images(tmp_path)
    fig = plt.gcf()
    assert [ax.get_title() for ax in fig.axes] == ["epoch 10", "epoch 20", "epoch 30"]
    shown = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert [float(np.mean(a[..., 0])) for a in shown] == pytest.approx([0, 128 / 255, 1], abs=1e-6)


def test_missing_epoch_images_are_named(tmp_path, capsys):
    (tmp_path / "epoch_10.png").write_bytes(b"")
    plt.close("all")
    show_epoch_images(tmp_path)
    assert not plt.get_fignums()
    out = capsys.readouterr().out
    assert str(tmp_path / "epoch_20.png") in out and str(tmp_path / "epoch_30.png") in out
    assert str(tmp_path / "epoch_10.png") not in out
    assert "full 50-epoch training run" in out
