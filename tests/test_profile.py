"""helpers.profile: the full 50-epoch run by default, the short run under nbgrader and CI."""
from pathlib import Path

import pytest

from helpers.profile import FULL_EPOCHS, QUICK_EPOCHS, QUICK_TRAIN_IMAGES, lab_profile


def test_default_is_the_full_lab():
    profile = lab_profile({})
    assert (profile.name, profile.epochs, profile.train_images) == ("full", FULL_EPOCHS, None)
    assert FULL_EPOCHS == 50
    assert profile.results_dir == profile.full_results_dir == Path("results")
    assert profile.quality_epochs == (10, 20, 30, 50)
    assert profile.checkpoint_path == Path("results/checkpoint.pt")


@pytest.mark.parametrize("env", [
    {"NBGRADER_EXECUTION": "autograde"},
    {"NBGRADER_EXECUTION": "validate", "NBGRADER_VALIDATING": "1"},
    {"CI": "true"},
    {"GAN_PROFILE": "quick"},
])
def test_grading_and_ci_get_the_short_run(env):
    profile = lab_profile(env)
    assert profile.quick and profile.epochs == QUICK_EPOCHS and profile.train_images == QUICK_TRAIN_IMAGES
    # The short run never overwrites the full run's images, which Task 4 shows.
    assert profile.results_dir != profile.full_results_dir == Path("results")
    # Grading always trains from scratch and does not spend time measuring.
    assert profile.checkpoint_path is None and profile.quality_epochs == ()


@pytest.mark.parametrize("ci", ["", "0", "false", "False", "no"])
def test_ci_switched_off(ci):
    assert lab_profile({"CI": ci}).name == "full"


def test_explicit_profile_wins_and_results_dir_moves():
    profile = lab_profile({"CI": "true", "GAN_PROFILE": "full", "GAN_RESULTS_DIR": "/tmp/run"})
    assert profile.name == "full" and profile.results_dir == Path("/tmp/run")


def test_checkpoint_path_can_be_set_for_any_run():
    assert lab_profile({"GAN_PROFILE": "quick", "GAN_CHECKPOINT": "/tmp/c.pt"}).checkpoint_path == Path("/tmp/c.pt")
    assert lab_profile({"GAN_CHECKPOINT": "/tmp/c.pt"}).checkpoint_path == Path("/tmp/c.pt")


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="GAN_PROFILE must be 'full' or 'quick'"):
        lab_profile({"GAN_PROFILE": "fast"})


def test_the_full_run_draws_its_seed_once_and_the_short_run_uses_zero(tmp_path):
    full = lab_profile({"GAN_RESULTS_DIR": str(tmp_path / "a")})
    assert full.seed == full.seed == int((tmp_path / "a" / "seed.txt").read_text())
    others = {lab_profile({"GAN_RESULTS_DIR": str(tmp_path / name)}).seed for name in "bcd"}
    assert len(others | {full.seed}) == 4, "each results folder (each student) gets a seed of its own"
    assert lab_profile({"GAN_PROFILE": "quick"}).seed == 0
    assert lab_profile({"GAN_PROFILE": "quick", "GAN_SEED": "7"}).seed == 7
