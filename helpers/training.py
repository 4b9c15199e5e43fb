"""What happens after each epoch of your training loop (Section 4): history, images, animation, quality, checkpoints.

The cell that runs your loop makes a ``TrainingRun`` and hands your ``train`` the epochs to train,
``run.epochs``, and the function to call after each with the epoch's mean losses, ``run.end_of_epoch``.
After epoch N it

- adds the losses to ``run.history``, with D's mean output on a batch of real digits (``"D(x)"``) and on the
  64 digits G draws from ``run.fixed_noise`` (``"D(G(z))"``), and writes it to ``results/history.csv``
  (``helpers.history``),
- saves that 8x8 grid as ``results/epoch_N.png`` every 5 epochs and as ``results/final_grid.png`` after the
  last epoch, and keeps it as a frame of ``results/training.gif`` (written every 5 epochs and at the end),
- measures the digits at the profile's quality epochs (``helpers.quality``, the full run only),
- saves a checkpoint every 5 epochs and at the end (``helpers.checkpoint``). After a kernel restart,
  ``TrainingRun`` resumes from it if the same code made it (``helpers.fingerprint``), and
  ``run.epochs`` starts after the saved epoch.

None of this changes the models' weights or draws from the global random number generator, so your
run trains exactly as it would without it.

Usage (the notebook's locked cell that runs your loop)::

    run = TrainingRun(PROFILE, generator, discriminator, opt_g, opt_d, fixed_noise, real_batch, code=[train_step, ...])
    with ctx:  # helpers.precision
        train(generator, discriminator, opt_g, opt_d, criterion, train_loader, run.epochs, run.end_of_epoch)
    run.history  # {"D": [...], "G": [...], "D(x)": [...], "D(G(z))": [...]}, one value per epoch
"""
import contextlib
import numbers
from pathlib import Path

import numpy as np
import torch
import torchvision.utils as vutils
from PIL import Image, ImageDraw

from . import quality
from .checkpoint import Checkpoint
from .fingerprint import fingerprint
from .history import HISTORY_CSV, HISTORY_KEYS, write_history
from .plots import save_samples
from .profile import SAMPLE_EVERY

SAVE_EVERY = 5  # epochs between checkpoints (and rewrites of the GIF)
GIF = "training.gif"
FRAME_MS, LAST_FRAME_MS = 250, 2000  # the last frame stays, so the final digits can be seen


class TrainingRun:
    def __init__(self, profile, generator, discriminator, opt_g, opt_d, fixed_noise, real_images, code=()):
        """``real_images``: a batch of real digits for D(x); ``code``: the functions, classes and objects
        that make the run (with the models and optimisers, they decide whether a checkpoint is resumed)."""
        self.profile, self.generator, self.discriminator = profile, generator, discriminator
        self.results_dir = Path(profile.results_dir)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.real_images = real_images.to(next(discriminator.parameters()).device)
        self.history = {key: [] for key in HISTORY_KEYS}
        models = dict(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d)
        self.checkpoint = Checkpoint(profile.checkpoint_path, fingerprint(*code, **models), **models)
        saved = {}
        self.done = self.checkpoint.resume(self.history, saved)  # the last epoch done: 0, or the checkpoint's
        if self.done:  # the saved noise too, so the animation goes on with the same 64 digits
            self.fixed_noise, self.frames = saved["fixed_noise"].to(fixed_noise.device), saved["frames"]
        else:
            self.fixed_noise = fixed_noise
            with self._aside():
                self.frames = [_frame(0, generator(fixed_noise))]
        self.epochs = range(self.done + 1, profile.epochs + 1)
        if self.done == profile.epochs:  # a finished run: its final grid, drawn again by the restored generator
            with self._aside():
                save_samples(generator(self.fixed_noise), self.results_dir / "final_grid.png")

    def end_of_epoch(self, epoch, d_loss, g_loss) -> None:
        """Record epoch ``epoch`` with its mean D and G losses; every 5 epochs and at the end, save the grid,
        write the GIF and the checkpoint."""
        if epoch != self.done + 1 or epoch > self.profile.epochs:
            raise ValueError(f"end_of_epoch({epoch}) after epoch {self.done} of {self.profile.epochs}: "
                             "call it once per epoch, with the epoch number from the epochs train() is given")
        d_loss, g_loss = _number("d_loss", d_loss), _number("g_loss", g_loss)
        with self._aside():
            fake = self.generator(self.fixed_noise)  # (64, 784)
            d_real = self.discriminator(self.real_images).mean().item()
            d_fake = self.discriminator(fake).mean().item()
            self.frames.append(_frame(epoch, fake))
            if epoch % SAMPLE_EVERY == 0:
                save_samples(fake, self.results_dir / f"epoch_{epoch}.png")
            if epoch == self.profile.epochs:
                save_samples(fake, self.results_dir / "final_grid.png")
            if epoch in self.profile.quality_epochs:
                print("   ", quality.record(self.generator, epoch, self.results_dir))
        for key, value in {"D": d_loss, "G": g_loss, "D(x)": d_real, "D(G(z))": d_fake}.items():
            self.history[key].append(value)
        self.done = epoch
        write_history(self.history, self.results_dir / HISTORY_CSV)
        if epoch % SAVE_EVERY == 0 or epoch == self.profile.epochs:
            # 16 grey levels: under half the file (about 0.6 MB for 50 epochs), the digits look the same
            first, *rest = [Image.fromarray(frame // 16 * 17) for frame in self.frames]
            first.save(self.results_dir / GIF, save_all=True, append_images=rest, loop=0,
                       duration=[FRAME_MS] * len(rest) + [LAST_FRAME_MS])
            self.checkpoint.save(epoch, self.history, frames=self.frames, fixed_noise=self.fixed_noise)

    @contextlib.contextmanager
    def _aside(self):
        """Look at the models without changing what training sees: eval mode (BatchNorm's running statistics
        stay as they are; restored after), no autograd, float32, and the random number generators put back
        (a model may draw random numbers in its forward pass)."""
        modes = self.generator.training, self.discriminator.training
        with torch.random.fork_rng(), torch.no_grad(), torch.autocast(self.fixed_noise.device.type, enabled=False):
            self.generator.eval()
            self.discriminator.eval()
            try:
                yield
            finally:
                self.generator.train(modes[0])
                self.discriminator.train(modes[1])


def _frame(epoch, images) -> np.ndarray:
    """The 8x8 grid of ``images`` (in [-1, 1]) as a grey uint8 picture, under a band that says "epoch N"."""
    grid = vutils.make_grid(images.float().cpu().reshape(-1, 1, 28, 28), nrow=8, normalize=True, value_range=(-1, 1))
    picture = Image.new("L", (grid.shape[2], grid.shape[1] + 14))  # black, 14 pixels taller for the band
    picture.paste(Image.fromarray((grid[0] * 255).round().byte().numpy()), (0, 14))
    ImageDraw.Draw(picture).text((4, 1), f"epoch {epoch}", fill=255)
    return np.asarray(picture)


def _number(name, value) -> float:
    """``value`` as a float, or an error that says what end_of_epoch wants."""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        return float(value.item())
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"end_of_epoch: {name} should be a number, the epoch's mean loss, "
                    f"not {type(value).__name__} {value!r:.80}")
