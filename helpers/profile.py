"""How long the lab trains: the full 50 epochs, or a short run for grading and CI (Section 1, the setup cell).

nbgrader sets ``NBGRADER_EXECUTION`` while it autogrades or validates a notebook and CI
sets ``CI``; re-running 50 epochs there would take a quarter of an hour per student, so
those get the ``quick`` profile: 5 epochs over a 1,024-image slice of MNIST, written to
``results_quick/``. ``GAN_PROFILE=full|quick`` overrides the choice and
``GAN_RESULTS_DIR`` moves the full run's images.

The full run measures its digits (``helpers.quality``) at epochs 10, 20, 30 and 50 and saves a
checkpoint every 5 epochs (``helpers.checkpoint``); the short run does neither, so grading always
trains from scratch. ``GAN_CHECKPOINT=path`` turns checkpoints on for any run (the tests use it).

The full run's images always stay in ``full_results_dir``: Task 4 shows them, so the
instructor grading an autograded notebook sees the student's own epoch 10/20/30 images.

``PROFILE.seed`` is the notebook's SEED: 0 for the short run (grading and CI compare runs), and for
the full run a number drawn once per results folder (kept in its ``seed.txt``), so that no two
students' images are alike and identical images mean a copy. ``GAN_SEED=n`` sets it for either.

Usage::

    PROFILE = lab_profile()
    PROFILE.epochs, PROFILE.train_images, PROFILE.results_dir, PROFILE.checkpoint_path, PROFILE.seed
"""
import dataclasses
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

FULL_EPOCHS = 50
QUICK_EPOCHS = 5
QUICK_TRAIN_IMAGES = 8 * 128  # 8 batches an epoch: 40 steps in all
SAMPLE_EVERY = 5  # epochs between the saved results/epoch_N.png grids
QUICK_RESULTS_DIR = "results_quick"
QUALITY_EPOCHS = (10, 20, 30, 50)  # the epochs the full run measures (Task 4 cites 10, 20, 30)


@dataclass(frozen=True)
class Profile:
    name: str  # "full" or "quick"
    epochs: int
    train_images: Optional[int]  # None: all 60,000 training images
    results_dir: Path  # where this run writes epoch_N.png, final_grid.png, loss_curve.png
    full_results_dir: Path  # where the full run's images live (read by Task 4)
    quality_epochs: Tuple[int, ...]  # measure the digits after these epochs
    checkpoint_path: Optional[Path]  # None: no checkpoints, no resuming
    seed_override: Optional[int] = None  # GAN_SEED

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    @property
    def label(self) -> str:
        """What this run is, for the titles of its figures."""
        if self.quick:
            return f"grading check: a {self.epochs}-epoch short run on {self.train_images:,} images"
        return f"your training run ({self.epochs} epochs)"

    def experiment(self, name, epochs) -> "Profile":
        """A side run of ``epochs`` epochs in ``results_dir/experiment/name``: no checkpoints, digits measured at its end."""
        folder = self.results_dir / "experiment" / name
        return dataclasses.replace(self, epochs=epochs, results_dir=folder, checkpoint_path=None, quality_epochs=(epochs,))

    @property
    def seed(self) -> int:
        """The run's seed (see the module's docstring); the full run's first call draws and keeps it."""
        if self.seed_override is not None:
            return self.seed_override
        if self.quick:
            return 0
        path = self.results_dir / "seed.txt"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{secrets.randbelow(2**31)}\n")
        return int(path.read_text())


def lab_profile(env=None) -> Profile:
    """Pick the profile from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    name = env.get("GAN_PROFILE", "").strip().lower()
    if not name:
        name = "quick" if env.get("NBGRADER_EXECUTION") or _truthy(env.get("CI")) else "full"
    if name not in ("full", "quick"):
        raise ValueError(f"GAN_PROFILE must be 'full' or 'quick', not {name!r}")
    full_results_dir = Path(env.get("GAN_RESULTS_DIR") or "results")
    checkpoint = env.get("GAN_CHECKPOINT")
    seed = int(env["GAN_SEED"]) if env.get("GAN_SEED", "").strip() else None
    if name == "full":
        return Profile("full", FULL_EPOCHS, None, full_results_dir, full_results_dir, QUALITY_EPOCHS,
                       Path(checkpoint or full_results_dir / "checkpoint.pt"), seed)
    return Profile("quick", QUICK_EPOCHS, QUICK_TRAIN_IMAGES, Path(QUICK_RESULTS_DIR), full_results_dir, (),
                   Path(checkpoint) if checkpoint else None, seed)


def _truthy(value) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")
