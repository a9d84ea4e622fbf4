#!/usr/bin/python3
"""Trains an MLP on a Fashion-MNIST subset with CDAT (full batch, PAPER §4.1) through torchcdat and prints the loss.

Usage: train_mlp.py [--data-dir DIR] [--train-size N] [--steps S] [--base gd|momentum|nesterov|rmsprop|adam]
                    [--sigma SIGMA] [--width W] [--sharpness-every K]
"""
import argparse
import gzip
import os

import numpy as np
import torch
import torch.nn.functional as F

import torchcdat


def read_idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_fashion_mnist(folder, n):
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 784)[:n]
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 8)[:n]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-2)
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train-size", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--base", default="gd")
    ap.add_argument("--sigma", type=float, default=2.0)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--sharpness-every", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(0)
    x, y = load_fashion_mnist(a.data_dir, a.train_size)
    model = torch.nn.Sequential(torch.nn.Linear(784, a.width), torch.nn.Tanh(), torch.nn.Linear(a.width, a.width),
                                torch.nn.Tanh(), torch.nn.Linear(a.width, 10))
    optimizer = torchcdat.CDAT(model.parameters(), base=a.base, sigma=a.sigma, ema=0.0)
    closure = lambda: F.cross_entropy(model(x), y)  # noqa: E731 — the loss only: no backward()
    for step in range(a.steps):
        if a.sharpness_every and step % a.sharpness_every == 0:
            print(f"step {step:4d}  sharpness {torchcdat.sharpness(closure, model.parameters()):.4g}")
        optimizer.step(closure)
        s = optimizer.last_stats
        if step % 10 == 0 or step == a.steps - 1:
            print(f"step {step:4d}  loss {s['loss']:.4f}  lr {s['lr']:.4g}  uHu {s['curvature']:.4g}")
    with torch.no_grad():
        print(f"final_loss {closure().item():.6f}")


if __name__ == "__main__":
    main()
