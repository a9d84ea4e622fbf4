#!/usr/bin/python3
"""Per-step cost of torchcdat (Python closure + binding) against the C++ loop of bench/peer_loop.cpp on the same
workload: full-batch GD + CDAT σ = 2 on an MLP 784-W-W-10 (ReLU) over N Fashion-MNIST images, cross-entropy.
Both are timed in this one run, alternating rounds (C++ in a subprocess, torchcdat in this process), with the
same thread count; prints each round, the medians and their ratio, and /proc/loadavg.

Usage: PYTHONPATH=DIR overhead.py [--peer-loop build/bench/peer_loop] [--width 128] [--samples 1024]
                                  [--steps 50] [--rounds 7] [--threads 1]
"""
import argparse
import importlib.util
import pathlib
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

import torchcdat


def load_peer():
    """bench/peer/cdat_loop.py: the workload's data (as peer_loop.cpp) and model."""
    path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "peer" / "cdat_loop.py"
    spec = importlib.util.spec_from_file_location("cdat_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torchcdat_ms_per_step(peer, x, y, width, steps):
    torch.manual_seed(0)
    model = peer.make_model(width)
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="gd", tuner="cdat")
    closure = lambda: F.cross_entropy(model(x), y)  # noqa: E731
    for _ in range(3):  # warm-up, as peer_loop
        optimizer.step(closure)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step(closure)
    return 1000 * (time.perf_counter() - start) / steps, optimizer.last_stats["loss"]


def cpp_ms_per_step(peer_loop, width, samples, steps, threads):
    out = subprocess.run([peer_loop, "--width", str(width), "--samples", str(samples), "--steps", str(steps),
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    values = dict(line.split()[:2] for line in out.splitlines() if line.strip())
    return float(values["ms_per_step"]), float(values["final_loss"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-loop", default="build/bench/peer_loop")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    peer = load_peer()
    x, y = peer.load(a.samples)
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    cpp, py = [], []
    for r in range(a.rounds):
        c, c_loss = cpp_ms_per_step(a.peer_loop, a.width, a.samples, a.steps, a.threads)
        p, p_loss = torchcdat_ms_per_step(peer, x, y, a.width, a.steps)
        cpp.append(c)
        py.append(p)
        print(f"round {r}: C++ {c:8.3f} ms/step (loss {c_loss:.6f})   torchcdat {p:8.3f} ms/step (loss {p_loss:.6f})")
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    mc, mp = statistics.median(cpp), statistics.median(py)
    print(f"MLP 784-{a.width}-{a.width}-10 x {a.samples}, GD + CDAT, {a.steps} steps x {a.rounds} rounds, "
          f"{a.threads} thread(s); loadavg before {' '.join(load_before)}, after {' '.join(load_after)}")
    print(f"median C++ {mc:.3f} ms/step, torchcdat {mp:.3f} ms/step, torchcdat / C++ = {mp / mc:.4f} "
          f"(overhead {100 * (mp / mc - 1):+.2f} %)")


if __name__ == "__main__":
    main()
