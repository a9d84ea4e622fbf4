#!/usr/bin/python3
"""Closed-loop evidence for a curvature mode (issue 12): trains each workload × direction × σ × seed with
`cdat train` once per curvature mode and prints, per configuration, the final training loss of each mode
(median and range over seeds), the divergences, and the ratio of the medians against the first mode.

    scripts/curvature_mode_grid.py --cdat build/apps/cdat/cdat --out /tmp/grid \\
        [--modes exact,parabola] [--seeds 0,1,2] [--sigmas 1,2] [--directions gd,adam] \\
        [--workloads mlp,cnn,nanolm] [--extra "--curvature-every 4"] [--per-seed]

A mode is MODE[:K][@T]: curvature mode MODE, measured every K steps (default 1), with T intra-op threads
(default 1). `exact@2` is exact CDAT whose reductions are summed in another order: the same mathematics,
other floating-point rounding, the closed loop's reproducibility floor.

Runs are sequential; a finished run (summary.json present) is not run again.
"""
import argparse
import json
import shlex
import statistics
import subprocess
from pathlib import Path

# Small versions of src/experiments/workloads.cpp's workloads, full batch, no diagnostics.
WORKLOADS = {
    "mlp": "--model mlp --width 128 --loss mse --train-size 1024 --steps 150",
    "cnn": "--model cnn --width 8 --loss ce --train-size 128 --steps 60",
    "nanolm": "--dataset text --text-file ../shared/data/tinyshakespeare.txt --model nanolm --width 32 --layers 1"
              " --heads 2 --context 32 --loss ce --train-size 16 --steps 100",
    # ResNet with batch normalisation (issue 25: the parabola's extra forward on a BatchNorm network)
    "resnet-bn": "--model resnet --batch-norm true --width 8 --loss ce --train-size 256 --steps 60",
    # the mini-batch heat map's configuration (src/experiments/mini_batch.cpp) at batch 128 with EMA 0.9
    "mlp-minibatch": "--model mlp --width 128 --loss mse --train-size 2048 --steps 500 --batch-size 128 --ema 0.9",
}


def parse_mode(mode):
    """MODE[:K][@T] -> (curvature mode, every K steps, T threads)."""
    mode, _, threads = mode.partition("@")
    curvature_mode, _, every = mode.partition(":")
    return curvature_mode, every or "1", threads or "1"


def run(cdat, out, workload, direction, sigma, seed, mode, extra):
    """One run of `mode` (MODE[:K][@T], see above)."""
    curvature_mode, every, threads = parse_mode(mode)
    folder = Path(out) / f"{workload}-{direction}-s{sigma}-{mode.replace(':', '-every').replace('@', '-threads')}-seed{seed}"
    summary = folder / "summary.json"
    if not summary.exists():
        args = (f"train {WORKLOADS[workload]} --optimizer {direction} --tuner cdat --sigma {sigma} --seed {seed}"
                f" --curvature-mode {curvature_mode} --curvature-every {every} --sharpness-every 0 --threads {threads}"
                f" --out {folder} {extra}")
        subprocess.run([cdat] + shlex.split(args), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not summary.exists():
        return {"final_train_loss": None, "diverged": True, "curvature_fallbacks": 0, "wall_time_s": 0.0}
    return json.loads(summary.read_text())


def seed_ratios(losses, reference):
    """Each seed's final loss over the reference mode's, "div" where either run diverged."""
    return ", ".join("div" if x is None or r is None else f"{x / r:.3f}" for x, r in zip(losses, reference))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cdat", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--modes", default="exact,parabola", help="modes MODE[:K][@T]: measured every K steps, T threads")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--sigmas", default="1,2")
    p.add_argument("--directions", default="gd,adam")
    p.add_argument("--workloads", default="mlp,cnn,nanolm")
    p.add_argument("--extra", default="", help="flags added to every run")
    p.add_argument("--per-seed", action="store_true",
                   help="also print each seed's ratio against the first mode's run of the same seed")
    a = p.parse_args()
    modes = a.modes.split(",")
    print(f"| workload | direction | σ | " + " | ".join(f"{m}: median final loss [range], diverged" for m in modes)
          + " | " + " | ".join(f"{m} / {modes[0]}" for m in modes[1:]) + " | fallbacks (median) |")
    print("|---" * (3 + 2 * len(modes)) + "|")
    for workload in a.workloads.split(","):
        for direction in a.directions.split(","):
            for sigma in a.sigmas.split(","):
                cells, medians, fallbacks, per_seed = [], [], [], []
                for mode in modes:
                    results = [run(a.cdat, a.out, workload, direction, sigma, seed, mode, a.extra)
                               for seed in a.seeds.split(",")]
                    finite = [r["final_train_loss"] for r in results
                              if not r["diverged"] and r["final_train_loss"] is not None]
                    diverged = len(results) - len(finite)
                    median = statistics.median(finite) if finite else float("nan")
                    medians.append(median)
                    span = f"[{min(finite):.4g}, {max(finite):.4g}]" if finite else "[–]"
                    cells.append(f"{median:.4g} {span}, {diverged}")
                    fallbacks.append(statistics.median(r.get("curvature_fallbacks", 0) for r in results))
                    per_seed.append([None if r["diverged"] else r["final_train_loss"] for r in results])
                ratios = [f"{m / medians[0]:.3f}" for m in medians[1:]]
                if a.per_seed:
                    ratios = [f"{ratio} ({seed_ratios(losses, per_seed[0])})" for ratio, losses in zip(ratios, per_seed[1:])]
                print(f"| {workload} | {direction} | {sigma} | " + " | ".join(cells) + " | " + " | ".join(ratios)
                      + f" | {' / '.join(f'{f:g}' for f in fallbacks)} |", flush=True)


if __name__ == "__main__":
    main()
