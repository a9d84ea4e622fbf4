#!/usr/bin/python3
"""Data-parallel CDAT under torchrun: each rank holds part of every batch; the optimizer reduces the loss, the
gradient, uᵀHu and the trust check's trial values over the ranks, so every rank takes the step one process would take
on the whole batch (docs/python.md, "Several processes").

Usage: python3 -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 1 --tee 1 \
           examples/python/train_torchrun.py [--data-dir DIR] [--train-size N] [--batch-size B] [--steps S]
           [--base gd|momentum|nesterov|rmsprop|adam] [--sigma SIGMA] [--ema BETA] [--width W] [--backend gloo|nccl]
           [--timeout SECONDS]
(`--redirects 1 --tee 1`: Debian's torch 1.13 under Python 3.11 fails with its default `--redirects 0`, see
docs/python.md; rank 0's output is printed with a [default0] prefix.)
--batch-size 0 (the default) is full batch; B > 0 draws mini batches of B examples (the same indices on every
rank, from a generator seeded alike), of which each rank takes its contiguous part.
"""
import argparse
import datetime
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F

import torchcdat
from train_mlp import load_fashion_mnist


def rank_part(tensor, rank, world):
    """Rank r's contiguous part [n·r/W, n·(r+1)/W) of a batch (as `cdat train --nproc` shards)."""
    n = tensor.shape[0]
    return tensor[n * rank // world:n * (rank + 1) // world]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train-size", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--base", default="gd")
    ap.add_argument("--sigma", type=float, default=2.0)
    ap.add_argument("--ema", type=float, default=None, help="CDAT's EMA β (default: 0 in full batch, 0.9 in mini batch)")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--backend", default="gloo")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a rank waits for the others")
    a = ap.parse_args()

    dist.init_process_group(a.backend, timeout=datetime.timedelta(seconds=a.timeout))
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if a.backend == "nccl" else torch.device("cpu")
    x, y = load_fashion_mnist(a.data_dir, a.train_size)
    x, y = x.to(device), y.to(device)
    torch.manual_seed(0)  # every rank builds the same model; the optimizer also sets every rank to rank 0's
    model = torch.nn.Sequential(torch.nn.Linear(784, a.width), torch.nn.Tanh(), torch.nn.Linear(a.width, a.width),
                                torch.nn.Tanh(), torch.nn.Linear(a.width, 10)).to(device)
    full_batch = a.batch_size == 0
    ema = a.ema if a.ema is not None else (0.0 if full_batch else 0.9)
    batch = len(y) if full_batch else a.batch_size
    part = batch * (rank + 1) // world - batch * rank // world
    optimizer = torchcdat.CDAT(model.parameters(), base=a.base, sigma=a.sigma, ema=ema,
                               process_group=dist.group.WORLD, shard_weight=part / batch, dist_timeout=a.timeout)
    batches = torch.Generator().manual_seed(1)  # the same draws on every rank
    for step in range(a.steps):
        indices = torch.arange(len(y)) if full_batch else torch.randint(len(y), (a.batch_size,), generator=batches)
        xb, yb = rank_part(x[indices.to(device)], rank, world), rank_part(y[indices.to(device)], rank, world)
        # This rank's closure: the mean loss of its own part (no backward()), weighed by shard_weight = part / batch.
        optimizer.step(lambda: F.cross_entropy(model(xb), yb))
        s = optimizer.last_stats
        if rank == 0 and (step % 10 == 0 or step == a.steps - 1):
            print(f"step {step:4d}  loss {s['loss']:.4f}  lr {s['lr']:.4g}  uHu {s['curvature']:.4g}", flush=True)
    if rank == 0:
        with torch.no_grad():
            print(f"final_loss {F.cross_entropy(model(x), y).item():.6f}  ranks {world}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
