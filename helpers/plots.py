"""Pictures of the lab: digit grids on disk, the loss curves, the Task 4 comparison.

- :func:`save_samples` writes ``results/epoch_N.png`` and ``final_grid.png`` (Section 4, the training loop).
- :func:`plot_losses` draws the per-epoch D and G losses (Section 4, after training).
- :func:`show_epoch_images` puts the full run's epoch 10/20/30 grids side by side (Task 4).

Images come in as generator outputs in [-1, 1], shaped (B, 784) or (B, 1, 28, 28).
"""
from pathlib import Path

import matplotlib.pyplot as plt
import torchvision.utils as vutils


def save_samples(images, path, nrow=8) -> Path:
    """Save a grid of generated digits as a PNG, mapping [-1, 1] to black..white."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = images.detach().cpu().reshape(-1, 1, 28, 28)  # (B, 1, 28, 28)
    vutils.save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1))
    return path


def plot_losses(history, path=None) -> None:
    """Plot ``history = {"D": [...], "G": [...]}`` (one mean loss per epoch); save it if ``path``."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, losses in history.items():
        ax.plot(range(1, len(losses) + 1), losses, marker="o", markersize=3, label=f"{name} loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean BCE loss")
    ax.set_title("Discriminator and generator losses")
    ax.legend()
    ax.grid(alpha=0.3)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, bbox_inches="tight")
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
            "in JupyterLab (about 3 minutes on a recent CPU, 5-10 on an older laptop) and keep the results/ folder "
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
