#!/usr/bin/python3
"""The full-batch GD + CDAT (σ = 2) loop of cdat, written in PyTorch-Python (Debian's python3-torch, the same
LibTorch backend), for comparison with bench/peer_loop.cpp: the same model, data, math and step count.

Usage: cdat_loop.py --width W --samples N --steps S --threads T   → prints "ms_per_step <float>" and the final loss.
"""
import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn.functional as F

FMNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"


def load(n):
    with gzip.open(FMNIST) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(LABELS) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = (x - x.mean(0)) / (x.std(0) + 1e-2)  # as bench/peer_loop.cpp
    return x, torch.from_numpy(labels.astype(np.int64))


def make_model(width):
    return torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                               torch.nn.ReLU(), torch.nn.Linear(width, 10))


def cdat_step(model, params, x, y, sigma=2.0, eps=1e-12):
    """One GD + CDAT step in place; returns (loss before the step, η). Also used by python/tests (parity)."""
    loss = F.cross_entropy(model(x), y)
    g = torch.autograd.grad(loss, params, create_graph=True)
    u = [-gi.detach() for gi in g]
    numerator = max(-sum((gi.detach() * ui).sum() for gi, ui in zip(g, u)).item(), 0.0)
    g_dot_u = sum((gi * ui).sum() for gi, ui in zip(g, u))
    hu = torch.autograd.grad(g_dot_u, params)
    curvature = sum((h * ui).sum() for h, ui in zip(hu, u)).item()
    u_sq = sum((ui * ui).sum() for ui in u).item()
    eta = sigma * numerator / (abs(curvature) + eps * u_sq)
    with torch.no_grad():
        for p, ui in zip(params, u):
            p.add_(ui, alpha=eta)
    return loss.item(), eta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x, y = load(a.samples)
    model = make_model(a.width)
    params = list(model.parameters())

    def step():
        return cdat_step(model, params, x, y)[0]

    for _ in range(3):  # warm-up
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        last = step()
    elapsed = time.perf_counter() - start
    print(f"ms_per_step {1000 * elapsed / a.steps:.3f}")
    print(f"final_loss {last:.6f}")


if __name__ == "__main__":
    main()
