"""How far the grader's Task 4 re-measure (2,000 digits) can fall from the figures a run records (10,000 digits).

Usage: .venv/bin/python benchmarks/remeasure_spread.py [results_dir] [--seeds 5]
(default: the demo student's full run; about a minute on 2 CPU cores)

For the run's generators at epochs 10, 20 and 30 (results/generator_epoch_N.pt, as submitted) it measures the
10,000 digits the run recorded and 2,000 digits from each of ``--seeds`` noise seeds, and prints, per figure,
the largest difference between a 2,000-digit measure and the 10,000-digit one. ``helpers.quality.SPREAD``
holds these, rounded up: Task 4's table marks a recorded figure that the re-measure misses by more.
The last line is one JSON object.
"""
import argparse
import json
from pathlib import Path

import torch

from grading import reference
from helpers import quality

REPO = Path(__file__).resolve().parent.parent
DEMO_RUN = REPO / "demo" / "submitted" / "demo_complete" / "gan_mnist" / "results"
FIGURES = quality.FIGURE_NAMES


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path, nargs="?", default=DEMO_RUN)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    solution = reference.load(REPO / "source" / "gan_mnist" / "gan_mnist.ipynb")
    largest = {figure: 0.0 for figure in FIGURES}
    largest_fid_share = 0.0
    for epoch in (10, 20, 30):
        generator = solution.Generator()
        state = torch.load(quality.weights_file(args.results_dir, epoch), map_location="cpu", weights_only=True)
        generator.load_state_dict({name: tensor.float() for name, tensor in state.items()})
        generator.eval()
        full = quality.measure_generator(generator)
        for seed in range(quality.EVAL_SEED, quality.EVAL_SEED + args.seeds):
            part = quality.measure_generator(generator, samples=quality.REMEASURE_SAMPLES, seed=seed)
            print(f"epoch {epoch}, seed {seed}: " + ", ".join(f"{f} {part[f]} (10,000: {full[f]})" for f in FIGURES), flush=True)
            for figure in FIGURES:
                largest[figure] = max(largest[figure], abs(part[figure] - full[figure]))
            largest_fid_share = max(largest_fid_share, abs(part["fid"] - full["fid"]) / full["fid"])
    report = {"results_dir": str(args.results_dir), "samples": quality.REMEASURE_SAMPLES, "seeds": args.seeds,
              "largest_difference": {f: round(v, 4) for f, v in largest.items()}, "largest_fid_share": round(largest_fid_share, 4)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
