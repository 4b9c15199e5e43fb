"""Pictures of the lab: digit grids on disk, the training curves, the animation, the Task 4 comparison.

- :func:`save_samples` writes ``results/epoch_N.png`` and ``final_grid.png`` (``TrainingRun.end_of_epoch``) and the noise walk.
- :func:`plot_training` draws the per-epoch losses and D's outputs of ``run.history`` (Section 4, after training).
- :func:`show_animation` plays ``results/training.gif`` and shows a still strip of it (Section 4, after training).
- :func:`show_submitted` shows, while grading, the same picture (or table) of the student's submitted full run.
- :func:`show_epoch_images` puts the full run's epoch 10/20/30 grids side by side (Task 4).

Images come in as generator outputs in [-1, 1], shaped (B, 784) or (B, 1, 28, 28).
"""
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torchvision.utils as vutils
from IPython.display import Image as IPythonImage, display
from PIL import Image

from .history import HISTORY_CSV, history_table, read_history


def save_samples(images, path, nrow=8) -> Path:
    """Save a grid of generated digits as a PNG, mapping [-1, 1] to black..white."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = images.detach().cpu().reshape(-1, 1, 28, 28)  # (B, 1, 28, 28)
    vutils.save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1))
    return path


def _bce(p, target) -> float:
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


# The two curves of each panel differ in line style and marker as well as colour, and each is named at its end:
# the plot reads in grey-scale print and for colour-blind readers.
CURVE_STYLES = ({"color": "C0", "linestyle": "-", "marker": "o"}, {"color": "C3", "linestyle": "-.", "marker": "^"})


def _curve(ax, epochs, values, label, style, end_label=None):
    """One per-epoch curve in ``style``, named ``end_label`` (else its label's first word) right of the panel, at
    the height of its last point."""
    # markers on every few epochs of a long run, so that the line style shows between them
    ax.plot(epochs, values, markersize=5, markevery=max(1, len(values) // 12), label=label, **style)
    ax.annotate(end_label or label.split()[0], (1, values[-1]), xycoords=("axes fraction", "data"), xytext=(3, 0),
                textcoords="offset points", va="center", fontsize=8, color=style["color"])


def plot_training(history, path=None, title="your training run", real_label=0.9) -> None:
    """Plot a training run's ``history`` (one value per epoch): the D and G losses on top and D's mean outputs
    below (histories without ``"D(x)"`` have only the losses), with dashed lines for a D that can only
    guess; save the figure if ``path``."""
    # A D that cannot tell real from fake gives every image the output that minimises its loss on both:
    # real_label / 2 (0.45 with one-sided label smoothing).
    guess = real_label / 2
    if not history["D"]:
        print("The history is empty: does train() call end_of_epoch(epoch, d_loss, g_loss) after each epoch?")
        return
    outputs = "D(x)" in history
    fig, axes = plt.subplots(2 if outputs else 1, 1, figsize=(7, 6.5 if outputs else 4), sharex=True, squeeze=False)
    axes = axes[:, 0]
    epochs = range(1, len(history["D"]) + 1)
    references = {"D": _bce(guess, real_label) + _bce(guess, 0), "G": -math.log(guess)}
    for (name, reference), style in zip(references.items(), CURVE_STYLES):
        _curve(axes[0], epochs, history[name], f"{name} loss", style)
        axes[0].axhline(reference, color=style["color"], linestyle="--", linewidth=1,
                        label=f"{name} loss if D can only guess ({reference:.3f})")
        # at the left end, above its line: the curves' names sit at the right end, where a curve may meet its line
        axes[0].annotate(f"{name}: guess", (0, reference), xycoords=("axes fraction", "data"), xytext=(3, 2),
                         textcoords="offset points", va="bottom", fontsize=8, color=style["color"])
    axes[0].set_ylabel("mean BCE loss")
    axes[0].set_title(title)
    notes = [f"D loss below {references['D']:.2f} and G loss above {references['G']:.2f}: D is winning; "
             "both near their dashed lines: D can only guess."]
    if outputs:
        _curve(axes[1], epochs, history["D(x)"], "D(x): D on real digits", CURVE_STYLES[0], end_label="D(x)")
        _curve(axes[1], epochs, history["D(G(z))"], "D(G(z)): D on generated digits", CURVE_STYLES[1], end_label="D(G(z))")
        axes[1].axhline(guess, color="grey", linestyle="--", linewidth=1, label=f"D can only guess ({guess:.2f})")
        axes[1].set_ylim(0, 1)
        axes[1].set_ylabel("D's mean output")
        notes.append(f"D(x) high and D(G(z)) low: D is winning; both near {guess:.2f}: G's digits fool D.")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("epoch")
    fig.tight_layout()
    fig.text(0.01, 0, "\n".join(notes), va="top", fontsize=8)  # under the figure: bbox_inches="tight" keeps it
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.show()


def show_submitted(profile, name, what) -> None:
    """In the short (grading) run, show the full run's ``name`` from its results folder (a picture, or the
    history's table), so that the grader sees your own full run; in the full run, nothing (you have just seen it)."""
    if not profile.quick:
        return
    path = Path(profile.full_results_dir) / name
    if not path.is_file():
        print(f"{path} was not submitted: submit the full run's results folder with the notebook to show its {what} here.")
        return
    if name == HISTORY_CSV:
        try:
            print(f"your submitted full run: {what}\n{history_table(read_history(path))}")
        except (ValueError, KeyError, TypeError):
            print(f"{path} is not a history table of the training run")
        return
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.imshow(plt.imread(path), cmap="gray")
    ax.set_title(f"your submitted full run: {what}")
    ax.axis("off")
    plt.show()


def show_animation(path) -> None:
    """Play the training run's GIF (``results/training.gif``, frame N is epoch N) and, below it, 6 of its
    frames as a still strip: formgrader's HTML shows PNG images only."""
    path = Path(path)
    if not path.is_file():
        print(f"{path} not found: the full run's training cell writes it (every 5 epochs). Run the notebook in "
              "JupyterLab and keep the results folder next to it.")
        return
    display(IPythonImage(data=path.read_bytes(), format="gif"))  # image/gif: JupyterLab plays it
    with Image.open(path) as gif:
        picks = sorted({round(i) for i in np.linspace(0, gif.n_frames - 1, 6)})  # first, 4 evenly spaced, last
        frames = []
        for i in picks:
            gif.seek(i)
            frames.append(np.asarray(gif.convert("L")))
    fig, axes = plt.subplots(1, len(picks), figsize=(2.2 * len(picks), 2.6), squeeze=False)
    for ax, epoch, frame in zip(axes[0], picks, frames):
        ax.imshow(frame, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"epoch {epoch}")
        ax.axis("off")
    fig.tight_layout()
    plt.show()


def show_epoch_images(results_dir, epochs=(10, 20, 30)) -> None:
    """Show ``results_dir/epoch_N.png`` for each N side by side; say which files are missing."""
    results_dir = Path(results_dir)
    paths = [results_dir / f"epoch_{epoch}.png" for epoch in epochs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(
            "Not found: " + ", ".join(missing) + ".\n"
            "These images come from the full 50-epoch training run: run the training cells "
            "in JupyterLab (the setup cell says how long it takes on your computer) and keep the results/ folder "
            "next to this notebook when you submit."
        )
        return
    fig, axes = plt.subplots(1, len(paths), figsize=(4 * len(paths), 4.4))
    for ax, epoch, path in zip(axes, epochs, paths):
        ax.imshow(plt.imread(path), cmap="gray")
        ax.set_title(f"epoch {epoch}")
        ax.axis("off")
    fig.tight_layout()
    plt.show()
