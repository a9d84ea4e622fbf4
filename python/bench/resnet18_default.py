#!/usr/bin/python3
"""The default CDAT step on torchvision's ResNet-18 (batch normalisation) through torchcdat (issue 25): full batch,
256 Fashion-MNIST images (the grey channel repeated three times), cross-entropy, 30 steps, per seed and base
optimizer, with exact curvature and the parabola (the default), or the curvature modes of --modes; both with the default safeguards,
the model's buffers given to the optimizer and full_batch=True. Prints one line per run (final loss, seconds a
step, exact-curvature fallbacks, reused forwards) and per cell the parabola's final loss over exact's.

    python/bench/resnet18_default.py [--seeds 0,1,2] [--bases gd,adam] [--steps 30] [--train-size 256]
                                     [--modes exact,parabola,parabola-central,exact@2]
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

import torchcdat

import source_module  # python/bench/source_module.py, beside this script


read_idx = source_module.load("examples/python/train_mlp.py").read_idx  # its IDX reader


def load_fashion_mnist(folder, n):
    """n images as 3-channel 28×28 (the grey channel repeated), normalised over the whole set."""
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)[:n]
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 8)[:n]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = ((x - x.mean()) / x.std()).repeat(1, 3, 1, 1)
    return x, torch.from_numpy(labels.astype(np.int64))


def run(x, y, base, mode, seed, steps):
    """MODE[@T]: curvature mode MODE with T intra-op threads (exact@2: exact with other rounding, the floor)."""
    curvature_mode, _, threads = mode.partition("@")
    torch.set_num_threads(int(threads or 1))
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=10)
    model.train()
    optimizer = torchcdat.CDAT(model.parameters(), base=base, curvature_mode=curvature_mode,
                               buffers=list(model.buffers()), full_batch=True)
    closure = lambda: F.cross_entropy(model(x), y)  # noqa: E731 — the loss only
    fallbacks = reused = 0
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step(closure)
        fallbacks += int(optimizer.last_stats["curvature_fallback"])
        reused += int(optimizer.last_stats["reused_forward"])
    seconds = (time.perf_counter() - start) / steps
    with torch.no_grad():
        final = F.cross_entropy(model(x), y).item()  # training mode: batch statistics, as the steps saw it
    return final, seconds, fallbacks, reused


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--bases", default="gd,adam")
    ap.add_argument("--modes", default="exact,parabola", help="curvature modes, the first the reference")
    a = ap.parse_args()
    torch.set_num_threads(1)
    x, y = load_fashion_mnist(a.data_dir, a.train_size)
    modes = a.modes.split(",")
    print(f"torch intra-op threads {torch.get_num_threads()}, {a.train_size} images, {a.steps} steps", flush=True)
    for base in a.bases.split(","):
        ratios = []
        for seed in (int(s) for s in a.seeds.split(",")):
            results = {}
            for mode in modes:
                final, seconds, fallbacks, reused = run(x, y, base, mode, seed, a.steps)
                results[mode] = final
                print(f"{base:5s} seed {seed} {mode:9s} final loss {final:.4g}  {seconds:.2f} s/step  "
                      f"fallbacks {fallbacks}  reused forwards {reused}/{a.steps}", flush=True)
            ratios.append([results[m] / results[modes[0]] for m in modes[1:]])
        for i, mode in enumerate(modes[1:]):
            per_seed = [r[i] for r in ratios]
            print(f"{base}: {mode} / {modes[0]} per seed {', '.join(f'{r:.3g}' for r in per_seed)}; "
                  f"median {statistics.median(per_seed):.3g}", flush=True)


if __name__ == "__main__":
    main()
