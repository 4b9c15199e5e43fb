"""Train the notebook's solution for 50 epochs the plain way and the lab's way and measure the digits they make.

Usage: .venv/bin/python benchmarks/quality_runs.py [--ways plain lab lab-fp32] [--seeds 0 1] [--epochs 50]
(`make bench-quality`; about 45 minutes on 2 CPU cores for the default 2 seeds x 3 ways)

``lab-fp32`` is the lab's way with ``GAN_PRECISION=fp32`` (a CPU without native bf16).
After every run it rewrites
- ``benchmarks/quality_runs.json``: every run's figures (helpers.quality) at epochs 10, 20, 30, 50,
  its seconds per epoch, the machine, and the real-data floor;
- ``helpers/reference_quality.json``: the floor and the first ``lab`` run, which the notebook's
  Task 4 shows beside the student's own figures.
"""
import argparse
import json
import os
import platform
import statistics
from pathlib import Path

import torch

from helpers import quality
from helpers.profile import QUALITY_EPOCHS

import recipe  # benchmarks/ itself: a script's folder is first on sys.path

RUNS_FILE = Path(__file__).resolve().parent / "quality_runs.json"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}" + (
        f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU")


def one_run(way, seed, epochs) -> dict:
    figures, seconds = {}, []

    def on_epoch(epoch, generator, s):
        seconds.append(s)
        if epoch in QUALITY_EPOCHS or epoch == epochs:
            figures[str(epoch)] = quality.measure_generator(generator)
            print(f"  {way} seed {seed} epoch {epoch}: {figures[str(epoch)]} ({s:.1f} s/epoch)", flush=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    _, history = recipe.train(way, epochs, seed=seed, device=device, on_epoch=on_epoch)
    return {"way": way, "precision": recipe.precision_of(way, device), "seed": seed,
            "s_per_epoch": round(statistics.median(seconds), 2), "final_losses": [history["D"][-1], history["G"][-1]],
            "figures": figures}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ways", nargs="+", default=["lab", "plain", "lab-fp32"], choices=recipe.WAYS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    record = {"machine": machine(), "epochs": args.epochs, "floor": quality.real_floor(), "runs": []}
    print(f"real-data floor (10,000 training vs test digits): {record['floor']}", flush=True)
    for seed in args.seeds:
        for way in args.ways:
            record["runs"].append(one_run(way, seed, args.epochs))
            RUNS_FILE.write_text(json.dumps(record, indent=1) + "\n")
            reference = next((r for r in record["runs"] if r["way"] == "lab"), None)
            if reference and args.epochs == 50:
                quality.REFERENCE.write_text(json.dumps(
                    {"machine": record["machine"], "floor": record["floor"], "seed": reference["seed"],
                     "precision": reference["precision"], "figures": reference["figures"]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
