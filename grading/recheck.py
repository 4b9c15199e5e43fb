"""The trusted re-check: key verdicts decided again, and Task 4's figures measured, by code that never runs
the student's code.

Usage: python -m grading.recheck EVIDENCE_DIR|- SOURCE_NOTEBOOK RESULTS_DIR [--known FOLDER ...] [--samples N]
(prints one JSON object). The grader starts it with ``-`` as soon as a notebook's grading begins
(grading.sandbox.SandboxedExecute): it measures Task 4 on one core while the student's notebook runs,
then reads the evidence folder's path from stdin, which grading.verdicts.SaveVerdicts sends at the end.

- EVIDENCE_DIR holds ``<test grade_id>.pt`` files that the hidden tests saved during their own cell
  (``helpers.evidence``); each is loaded with ``weights_only=True`` (tensors and numbers only) and
  checked against the instructor's classes and training step from the source notebook
  (``grading.reference``): the student's weights go into the reference classes (every weight shape
  exactly once, nothing left over), the reference computes the outputs the student's code gave on the
  same inputs, one ``train_step`` update is redone by the reference from the same starting weights.
  A test whose file is missing is refuted: its cell stopped before the end, or was bypassed. Where the
  student's networks are not the reference architecture (their own tests lose those points), the tests
  that the reference would have to redo with them (the training step's recipe, the training trends) are
  not re-checked.
- RESULTS_DIR is the submission's ``results/``: Task 4's figures are measured here from the submitted
  generator weights (``generator_epoch_N.pt``) with ``helpers.quality``, its epoch images decoded and
  put side by side in a new PNG (what formgrader shows is a picture, nothing else), and images
  identical, pixel for pixel, to one in a ``--known`` folder (the demo class, the instructor's run) are
  named.
"""
import argparse
import base64
import copy
import hashlib
import io
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn

from . import reference

TASK4_EPOCHS = (10, 20, 30)
MAX_IMAGE_BYTES = 5 << 20
MAX_IMAGE_PIXELS = 4096 * 4096


class Refuted(Exception):
    """The evidence does not support the test's verdict; the message says why."""


class ArchitectureDiffers(Refuted):
    """The student's network is not the reference architecture: the reference cannot redo what depends on it."""


ARCHITECTURE_TESTS = ("test_generator_architecture", "test_discriminator_architecture")
# Redone with the reference classes: with another architecture the reference's numbers are not the student's
# to match, so these keep their in-kernel verdict (the architecture tests take the points).
DEPEND_ON_ARCHITECTURE = ("test_train_step_recipe", "test_training_loop")


def evidence(folder, name):
    path = Path(folder) / f"{name}.pt"
    if not path.is_file():
        raise Refuted("no evidence from this test cell: it stopped before its end, or was bypassed")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # anything but plain tensors and numbers, or a damaged file
        raise Refuted(f"unreadable evidence ({type(err).__name__})") from None


def into_reference(model, state, what):
    """``model`` (a reference class's instance) with the student's weights ``state``, matched by shape:
    every weight shape of the reference exactly once, nothing else."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise Refuted(f"the {what}'s weights are not a dict of tensors")
    given = {tuple(t.shape): t for t in state.values()}
    if len(given) != len(state) or sorted(given) != sorted(expected.values()):
        raise ArchitectureDiffers(f"the {what}'s weights {sorted(given)} do not fit the architecture {sorted(expected.values())}")
    model.load_state_dict({name: given[shape].float() for name, shape in expected.items()}, strict=True)
    return model.eval()


def _check(condition, message):
    if not condition:
        raise Refuted(message)


def _finite_positive_floats(values, count):
    return (isinstance(values, (list, tuple)) and len(values) == count
            and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values))


def _numbers(values, count):
    """``values`` as ``count`` floats (Python numbers or one-element tensors, as the loop may record them), or None."""
    if not isinstance(values, (list, tuple)) or len(values) != count:
        return None
    if not all(isinstance(v, (int, float)) or (isinstance(v, torch.Tensor) and v.numel() == 1) for v in values):
        return None
    return [float(v) for v in values]


def _changed(before, after):
    return any(not torch.equal(a, b) for a, b in zip(before.values(), after.values()))


def check_generator_shape(e, ref):
    _check(e["out"].shape == (16, 784) and e["one"].shape == (1, 784),
           f"generator outputs have shapes {tuple(e['out'].shape)} and {tuple(e['one'].shape)}, not (16, 784) and (1, 784)")


def check_generator_range(e, ref):
    out, saturated = e["out"], e["saturated"]
    _check(out.min() >= -1 and out.max() <= 1 and out.min() < -0.05 and out.max() > 0.05,
           f"generated pixels range over [{out.min():.3f}, {out.max():.3f}]: not Tanh's")
    _check(saturated.min() < -0.99 and saturated.max() > 0.99, "for huge inputs the outputs do not reach -1 and 1 (Tanh)")


def _computes_like_the_reference(model, e, inputs, what, atol):
    """The saved outputs ``e["out"]`` are ``model`` (a reference class) with the saved weights on ``e[inputs]``."""
    reference = into_reference(model, e["state"], what)
    with torch.no_grad():
        expected = reference(e[inputs].float())
    if not (e["out"].shape == expected.shape and torch.allclose(e["out"].float(), expected, atol=atol)):
        raise ArchitectureDiffers(f"the {what}'s outputs are not those of the reference architecture with the same weights")


def check_generator_architecture(e, ref):
    _computes_like_the_reference(ref.Generator(), e, "z", "generator", atol=1e-5)


def check_discriminator_shape_range(e, ref):
    probs, flat, extreme = e["probs"], e["flat"], e["extreme"]
    _check(probs.shape == flat.shape == (16, 1), f"discriminator outputs of shapes {tuple(probs.shape)}, {tuple(flat.shape)}")
    _check(((probs > 0) & (probs < 1)).all() and ((extreme >= 0) & (extreme <= 1)).all(),
           "the discriminator's outputs are not probabilities")


def check_discriminator_architecture(e, ref):
    _computes_like_the_reference(ref.Discriminator(), e, "x", "discriminator", atol=1e-6)


def check_train_step_updates(e, ref):
    _check(_finite_positive_floats(e["losses"], 2), f"train_step returned {e['losses']!r}, not two positive finite floats")
    _check(_changed(e["start_d"], e["after_d"]), "train_step did not change the discriminator")
    _check(_changed(e["start_g"], e["after_g"]), "train_step did not change the generator")


def check_train_step_recipe(e, ref):
    start = {"generator": into_reference(ref.Generator(), e["start_g"], "generator"),
             "discriminator": into_reference(ref.Discriminator(), e["start_d"], "discriminator")}
    generator, discriminator = (copy.deepcopy(start[what]).train() for what in ("generator", "discriminator"))
    pair = (generator, discriminator, torch.optim.Adam(generator.parameters(), lr=ref.LR, betas=ref.BETAS),
            torch.optim.Adam(discriminator.parameters(), lr=ref.LR, betas=ref.BETAS))
    _check(isinstance(e["losses"], list) and len(e["losses"]) == len(e["batches"]), "losses missing")
    for step, ((real, noise), (d_s, g_s)) in enumerate(zip(e["batches"], e["losses"]), 1):
        d_r, g_r = ref.train_step(*pair, nn.BCELoss(), real.float(), noise.float())
        _check(math.isclose(d_s, d_r, rel_tol=1e-3) or math.isclose(d_s, d_r / 2, rel_tol=1e-3),
               f"step {step}: d_loss {d_s:.5f}, the reference's {d_r:.5f}")
        _check(math.isclose(g_s, g_r, rel_tol=1e-3), f"step {step}: g_loss {g_s:.5f}, the reference's {g_r:.5f}")
    for what, index, cls in [("generator", 0, ref.Generator), ("discriminator", 1, ref.Discriminator)]:
        student = into_reference(cls(), e[f"after_{what[0]}"], what)
        delta_s = torch.cat([(a - b).flatten() for a, b in zip(student.parameters(), start[what].parameters())])
        delta_r = torch.cat([(a - b).flatten() for a, b in zip(pair[index].parameters(), start[what].parameters())])
        rel = ((delta_s - delta_r).norm() / delta_r.norm()).item()
        _check(rel < 0.02, f"after 3 steps the {what}'s update differs from the reference's by {rel:.1%}")


def check_training_loop(e, ref):
    short = [_numbers(e["short"].get(k), 5) if isinstance(e["short"], dict) else None for k in ("D", "G")]
    _check(all(short), "the 5-epoch short run's history is missing")
    steps = [_numbers(step, 2) for step in e["steps"]] if isinstance(e["steps"], list) and len(e["steps"]) == 60 else [None]
    _check(all(steps), "the short run's 60 step losses are missing")
    means = [[sum(step[k] for step in steps[12 * i:12 * (i + 1)]) / 12 for i in range(5)] for k in (0, 1)]
    _check(all(math.isclose(a, b, rel_tol=1e-5) for k in (0, 1) for a, b in zip(short[k], means[k])),
           "the short run's history is not the mean of its steps' losses")
    d_first, d_last = steps[0][0], sum(d for d, _ in steps[-10:]) / 10
    _check(d_last < d_first - 0.03, f"in 60 steps the D loss went {d_first:.3f} -> {d_last:.3f}")
    generator = into_reference(ref.Generator(), e["g"], "generator")
    discriminator = into_reference(ref.Discriminator(), e["d"], "discriminator")
    with torch.no_grad():
        gap = (discriminator(e["reals"].float()).mean() - discriminator(generator(e["z"].float())).mean()).item()
    _check(gap > 0.02, f"after 60 steps mean D(real) - mean D(fake) = {gap:.3f}")


CHECKS = {
    "test_generator_shape": check_generator_shape,
    "test_generator_range": check_generator_range,
    "test_generator_architecture": check_generator_architecture,
    "test_discriminator_shape_range": check_discriminator_shape_range,
    "test_discriminator_architecture": check_discriminator_architecture,
    "test_train_step_updates": check_train_step_updates,
    "test_train_step_recipe": check_train_step_recipe,
    "test_training_loop": check_training_loop,
}


def verdicts(evidence_dir, ref):
    """{test grade_id: {"passed": True, False, or None (not re-checked), "message": str}} for every test in CHECKS."""
    torch.manual_seed(0)
    found, differs = {}, set()
    for grade_id, check in CHECKS.items():
        try:
            check(evidence(evidence_dir, grade_id), ref)
            found[grade_id] = {"passed": True, "message": ""}
        except Refuted as err:
            found[grade_id] = {"passed": False, "message": str(err)}
            if isinstance(err, ArchitectureDiffers):
                differs.add(grade_id)
        except Exception as err:  # evidence of the wrong kind or shape
            found[grade_id] = {"passed": False, "message": f"evidence does not fit ({type(err).__name__}: {str(err)[:150]})"}
    if differs & set(ARCHITECTURE_TESTS + DEPEND_ON_ARCHITECTURE):
        for grade_id in DEPEND_ON_ARCHITECTURE:
            if not found[grade_id]["passed"]:
                found[grade_id] = {"passed": None, "message": "not re-checked: the networks are not the reference architecture"}
    return found


def _picture(path):
    """(the image as RGB, hash of its pixels) of an image file, or None when it is not a sound picture."""
    from PIL import Image

    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_IMAGE_BYTES:
        return None
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None
            pixels = image.convert("RGB")
    except Exception:
        return None
    return pixels, hashlib.sha256(pixels.tobytes() + repr(pixels.size).encode()).hexdigest()


def side_by_side(pictures):
    """One PNG of the ``pictures`` ({label: RGB image}) in a row, each under its label, on black."""
    from PIL import Image, ImageDraw

    gap, label = 12, 18
    row = Image.new("RGB", (sum(p.width for p in pictures.values()) + gap * (len(pictures) - 1),
                            label + max(p.height for p in pictures.values())))
    x = 0
    for text, picture in pictures.items():
        row.paste(picture, (x, label))
        ImageDraw.Draw(row).text((x + 2, 3), text, fill="white")
        x += picture.width + gap
    buffer = io.BytesIO()
    row.save(buffer, format="PNG")
    return buffer.getvalue()


def pictures_in(folder):
    """{file name: (RGB image, pixel hash)} of the sound PNG images in ``folder``."""
    found = {path.name: _picture(path) for path in sorted(Path(folder).glob("*.png"))}
    return {name: picture for name, picture in found.items() if picture}


def pixel_hashes(folder):
    """{pixel hash: file name} of the PNG images in ``folder``."""
    return {digest: name for name, (_, digest) in pictures_in(folder).items()}


def task4(results, ref, known=(), epochs=TASK4_EPOCHS, samples=2000):
    """Task 4 as the grader sees it: the figures the student's run recorded beside those measured again from the
    submitted weights (``samples`` digits each; an upload without weights is not measured again, said so), the
    images side by side in one new PNG, copies of known images named."""
    from helpers import quality

    results = Path(results)
    recorded = quality.recorded(results)
    report = {"figures": {}, "recorded": recorded, "unconfirmed": [], "image": None, "copied": [], "problems": []}
    submitted, pictures = pictures_in(results), {}
    for epoch in epochs:
        weights = quality.weights_file(results, epoch)
        mine = recorded.get(str(epoch))
        if not mine:
            report["problems"].append(f"quality.json holds no figures for epoch {epoch}")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True) if weights.is_file() and not weights.is_symlink() else None
            if state is None:
                report["problems"].append(f"{weights.name} was not submitted: epoch {epoch} is not measured again")
            else:
                again = report["figures"][str(epoch)] = quality.measure_generator(into_reference(ref.Generator(), state, "generator"), samples)
                off = quality.off_the_record(again, mine) if mine else []
                if off:
                    report["unconfirmed"].append(epoch)
                    report["problems"].append(f"epoch {epoch}: the re-measure misses the recorded {', '.join(off)} by more "
                                              "than the measurement's spread (the table marks them !)")
        except Exception as err:  # Refuted, or a file that is not a state dict
            report["problems"].append(f"{weights.name}: {err}")
        picture = submitted.get(f"epoch_{epoch}.png")
        if picture:
            pictures[f"epoch {epoch}"] = picture[0]
        else:
            report["problems"].append(f"epoch_{epoch}.png is missing or not a picture")
    if pictures:
        report["image"] = base64.b64encode(side_by_side(pictures)).decode()
    report["table"] = quality.comparison_table(results, epochs, remeasured=report["figures"], samples=samples)
    own = {digest: name for name, (_, digest) in submitted.items()}
    for folder in known:
        same = sorted(own[digest] for digest in pixel_hashes(folder) if digest in own)
        if same:
            report["copied"].append(f"{len(same)} of the submitted images are identical to those in {folder}: {', '.join(same)}")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evidence_dir", help="the evidence folder, or - to read its path from stdin after Task 4 "
                                             "is measured (the grader starts this beside the student's kernel)")
    parser.add_argument("source_notebook", type=Path)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--known", type=Path, nargs="*", default=[], help="folders of images others have seen")
    parser.add_argument("--samples", type=int, default=2000, help="generated digits per Task 4 figure")
    args = parser.parse_args(argv)
    beside_the_kernel = args.evidence_dir == "-"
    if beside_the_kernel:
        torch.set_num_threads(1)  # one core's worth, no OpenMP team spinning against the kernel's
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its first use imports torch._dynamo (1.7 s): now
    ref = reference.load(args.source_notebook)
    task = task4(args.results_dir, ref, [k for k in args.known if k.is_dir()], samples=args.samples)
    evidence_dir = sys.stdin.readline().strip() if beside_the_kernel else args.evidence_dir
    print(json.dumps({"verdicts": verdicts(Path(evidence_dir), ref), "task4": task}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
