"""Seconds per training epoch, the plain way against the lab's way, side by side in one run.

Usage: .venv/bin/python benchmarks/train_speed.py [--epochs 2] [--repeats 3]   (`make bench`)

Each repeat trains every way in a fresh process, in turn (plain, lab, and lab-fp32 where the lab's
way picks bf16), so all ways see the same machine; the figures are medians over all timed epochs.
Peak memory is the process's maximum resident set (and the GPU's peak allocation on a GPU).
Then it measures the real-data floor of helpers.quality and reports the epoch 10/20/30/50 figures
of the 50-epoch runs recorded by benchmarks/quality_runs.py (`make bench-quality`).
The last line is one JSON object with every figure.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys

import torch

from helpers import quality

import recipe  # benchmarks/ itself: a script's folder is first on sys.path
from quality_runs import RUNS_FILE, machine


def worker(way, epochs, train_images):
    """Train ``epochs`` epochs one way in this process; print one JSON line of its timings."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    seconds = []
    _, history = recipe.train(way, epochs, seed=0, device=device, train_images=train_images,
                              on_epoch=lambda e, g, s: seconds.append(s))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_peak_mb = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    print(json.dumps({"way": way, "seconds": seconds, "setup_s": history["setup_s"],
                      "peak_rss_mb": peak_mb, "gpu_peak_mb": gpu_peak_mb}))


def recorded_quality() -> dict:
    """Mean epoch 10/20/30/50 figures per way over the seeds in quality_runs.json (or {})."""
    if not RUNS_FILE.is_file():
        return {}
    runs = json.loads(RUNS_FILE.read_text())["runs"]
    summary = {}
    for way in sorted({r["way"] for r in runs}):
        mine = [r for r in runs if r["way"] == way]
        summary[way] = {"seeds": [r["seed"] for r in mine], "s_per_epoch": statistics.median(r["s_per_epoch"] for r in mine)}
        for epoch in mine[0]["figures"]:
            summary[way][f"epoch_{epoch}"] = {key: [r["figures"][epoch][key] for r in mine] for key in mine[0]["figures"][epoch]}
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-images", type=int, help="train on this many images, not all 60,000 (tests)")
    parser.add_argument("--worker", choices=recipe.WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.epochs, args.train_images)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    ways = ["plain", "lab"] + (["lab-fp32"] if recipe.precision_of("lab", device) == "bf16" else [])
    results = {way: [] for way in ways}
    for repeat in range(1, args.repeats + 1):
        for way in ways:
            command = [sys.executable, __file__, "--worker", way, "--epochs", str(args.epochs)]
            if args.train_images:
                command += ["--train-images", str(args.train_images)]
            out = subprocess.run(command,
                                 check=True, capture_output=True, text=True).stdout
            results[way].append(json.loads(out.strip().splitlines()[-1]))
            print(f"repeat {repeat}/{args.repeats} {way:8s}: " + ", ".join(f"{s:.2f}" for s in results[way][-1]["seconds"])
                  + " s/epoch", flush=True)

    def median(way, key):
        values = [v for r in results[way] for v in (r[key] if isinstance(r[key], list) else [r[key]])]
        return round(statistics.median(values), 3) if values and values[0] is not None else None

    report = {"machine": machine(), "device": device, "lab_precision": recipe.precision_of("lab", device),
              "epochs_per_repeat": args.epochs, "repeats": args.repeats, "train_images": args.train_images or 60_000,
              "plain_s_per_epoch": median("plain", "seconds"), "lab_s_per_epoch": median("lab", "seconds")}
    report["speedup"] = round(report["plain_s_per_epoch"] / report["lab_s_per_epoch"], 2)
    if "lab-fp32" in ways:
        report["lab_fp32_s_per_epoch"] = median("lab-fp32", "seconds")
        report["speedup_fp32"] = round(report["plain_s_per_epoch"] / report["lab_fp32_s_per_epoch"], 2)
    for way in ways:
        key = way.replace("-", "_")
        report[f"{key}_peak_rss_mb"] = median(way, "peak_rss_mb")
        report[f"{key}_gpu_peak_mb"] = median(way, "gpu_peak_mb")
    report["lab_setup_s"] = median("lab", "setup_s")
    report["quality_floor"] = quality.real_floor()
    report["quality_runs"] = recorded_quality()

    print(f"\n{report['machine']}; lab precision {report['lab_precision']}")
    print(f"plain {report['plain_s_per_epoch']:.2f} s/epoch, lab {report['lab_s_per_epoch']:.2f} s/epoch "
          f"(+{report['lab_setup_s']:.1f} s once to build the tensor copy): {report['speedup']:.2f}x")
    if "lab-fp32" in ways:
        print(f"lab in fp32 {report['lab_fp32_s_per_epoch']:.2f} s/epoch: {report['speedup_fp32']:.2f}x")
    print(f"real-data floor (training vs test digits): {report['quality_floor']}")
    for way, summary in report["quality_runs"].items():
        for epoch in ("10", "20", "30", "50"):
            if f"epoch_{epoch}" in summary:
                print(f"  {way:8s} epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in summary[f"epoch_{epoch}"].items()))
    if not report["quality_runs"]:
        print(f"no 50-epoch quality runs recorded in {RUNS_FILE}: run `make bench-quality`")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
