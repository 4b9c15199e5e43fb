"""helpers.plots: digit grids on disk, training curves, the animation, the submitted full run, the Task 4 view."""
import dataclasses
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torchvision.utils as vutils
from PIL import Image

from helpers.plots import plot_training, save_samples, show_animation, show_epoch_images, show_submitted
from helpers.profile import lab_profile

matplotlib.use("Agg")  # plt.show() is a no-op and the figure stays open for inspection


def test_save_samples_maps_minus_one_to_black_and_one_to_white(tmp_path):
    images = torch.linspace(-1, 1, 16 * 784).reshape(16, 784)  # (B, 784), as the generator makes them
    path = save_samples(images, tmp_path / "sub" / "grid.png", nrow=4)
    saved = np.asarray(Image.open(path).convert("L"))
    assert saved.shape == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    expected = vutils.make_grid(((images + 1) / 2).reshape(16, 1, 28, 28), nrow=4)[0]  # oracle: torchvision
    np.testing.assert_allclose(saved, (expected * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy(), atol=1)
    assert saved[2, 2] == 0 and saved[-3, -3] == 255


HISTORY = {"D": [1.3, 1.2, 1.25], "G": [0.8, 0.9, 1.0], "D(x)": [0.5, 0.6, 0.55], "D(G(z))": [0.4, 0.3, 0.35]}


def test_plot_training_has_losses_on_top_and_d_outputs_below(tmp_path):
    plot_training(HISTORY, tmp_path / "sub" / "loss_curve.png", title="grading check")
    fig = plt.gcf()
    assert (tmp_path / "sub" / "loss_curve.png").stat().st_size > 0
    top, bottom = fig.axes
    assert top.get_shared_x_axes().joined(top, bottom)
    assert top.get_title() == "grading check" and bottom.get_xlabel() == "epoch"
    assert [line.get_label() for line in top.get_lines()] == [
        "D loss", "D loss if D can only guess (1.376)", "G loss", "G loss if D can only guess (0.799)"]
    assert [line.get_label() for line in bottom.get_lines()] == [
        "D(x): D on real digits", "D(G(z)): D on generated digits", "D can only guess (0.45)"]
    lines = {line.get_label(): line for line in top.get_lines() + bottom.get_lines()}
    assert list(lines["G loss"].get_xdata()) == [1, 2, 3] and list(lines["G loss"].get_ydata()) == [0.8, 0.9, 1.0]
    assert list(lines["D(G(z)): D on generated digits"].get_ydata()) == [0.4, 0.3, 0.35]
    # A D that outputs 0.45 for every image: BCE(0.45, 0.9) + BCE(0.45, 0) for D, -ln 0.45 for G.
    d_guess = -(0.9 * math.log(0.45) + 0.1 * math.log(0.55)) - math.log(0.55)
    assert lines["D loss if D can only guess (1.376)"].get_ydata()[0] == pytest.approx(d_guess)
    assert lines["G loss if D can only guess (0.799)"].get_ydata()[0] == pytest.approx(-math.log(0.45))
    assert lines["D can only guess (0.45)"].get_ydata()[0] == pytest.approx(0.45)
    assert all(line.get_linestyle() == "--" for label, line in lines.items() if "guess" in label)
    assert "D(x) high and D(G(z)) low: D is winning" in fig.texts[0].get_text()


def test_plot_training_reads_without_colour():
    """The two curves of each panel differ in line style and marker, and each is named on the plot itself."""
    plot_training(HISTORY)
    for ax, names in zip(plt.gcf().axes, (["D", "D: guess", "G", "G: guess"], ["D(x)", "D(G(z))"])):
        curves = [line for line in ax.get_lines() if "guess" not in line.get_label()]
        assert len({(line.get_linestyle(), line.get_marker()) for line in curves}) == len(curves) == 2
        assert [text.get_text() for text in ax.texts] == names


def test_plot_training_of_an_old_history_has_only_the_losses():
    plot_training({"D": [1.3, 1.2], "G": [0.8, 0.9]}, real_label=1.0)
    (ax,) = plt.gcf().axes
    assert [line.get_label() for line in ax.get_lines()] == [
        "D loss", "D loss if D can only guess (1.386)", "G loss", "G loss if D can only guess (0.693)"]


def test_show_submitted_shows_the_full_run_only_while_grading(tmp_path, capsys):
    quick = dataclasses.replace(lab_profile({"GAN_PROFILE": "quick"}), full_results_dir=tmp_path)
    full = lab_profile({"GAN_PROFILE": "full", "GAN_RESULTS_DIR": str(tmp_path)})
    Image.fromarray(np.full((20, 30), 200, np.uint8)).save(tmp_path / "loss_curve.png")
    plt.close("all")
    show_submitted(full, "loss_curve.png", "the training curves")
    assert not plt.get_fignums()
    show_submitted(quick, "loss_curve.png", "the training curves")
    (ax,) = plt.gcf().axes
    assert ax.get_title() == "your submitted full run: the training curves"
    assert ax.get_images()[0].get_array().shape[:2] == (20, 30)
    plt.close("all")
    show_submitted(quick, "interpolation.png", "noise walk")
    assert not plt.get_fignums()
    assert f"{tmp_path / 'interpolation.png'} was not submitted" in capsys.readouterr().out


def test_show_animation_plays_the_gif_and_shows_a_still_strip(tmp_path, capsys):
    frames = [Image.fromarray(np.full((12, 10), 10 * epoch, np.uint8)) for epoch in range(11)]  # epochs 0..10
    frames[0].save(tmp_path / "training.gif", save_all=True, append_images=frames[1:], duration=250, loop=0)
    show_animation(tmp_path / "training.gif")
    assert "IPython.core.display.Image" in capsys.readouterr().out  # display() outside a notebook prints the repr
    axes = plt.gcf().axes
    assert [ax.get_title() for ax in axes] == ["epoch 0", "epoch 2", "epoch 4", "epoch 6", "epoch 8", "epoch 10"]
    assert [float(ax.get_images()[0].get_array().mean()) for ax in axes] == pytest.approx([0, 20, 40, 60, 80, 100])


def test_show_animation_without_a_gif_says_what_to_run(tmp_path, capsys):
    plt.close("all")
    show_animation(tmp_path / "training.gif")
    assert not plt.get_fignums()
    assert "the full run's training cell writes it" in capsys.readouterr().out


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
