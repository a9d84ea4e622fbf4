#!/usr/bin/python3
"""Per-step cost of torchcdat (Python closure + binding) against the C++ loop of bench/peer_loop.cpp on the same
workload: full-batch GD + CDAT σ = 2 on an MLP 784-W-W-10 (ReLU) over N Fashion-MNIST images, cross-entropy.
Also the same loop in plain PyTorch (bench/peer/cdat_loop.py's step). All three are timed in this one run,
alternating, each round a fresh process for each (peer_loop; this script with --worker), with the same thread
count and the same initial weights (so C++ and torchcdat follow the same trajectory: their final losses agree);
prints each round (with the Python sides' minor page faults a step), the medians and their ratios, and
/proc/loadavg; then torchcdat and plain PyTorch alternating step by step in one
process.
With --defaults, C++ and torchcdat take the library's default options (curvature mode, trust check) with
full_batch, as a user who sets nothing but full_batch=True; the plain PyTorch loop (exact curvature) is left out.

Usage: PYTHONPATH=DIR overhead.py [--peer-loop build/bench/peer_loop] [--width 128] [--samples 1024]
                                  [--steps 50] [--rounds 7] [--threads 1] [--defaults]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

import torchcdat

import source_module  # python/bench/source_module.py, beside this script


def load_peer():
    """bench/peer/cdat_loop.py, for the workload's data (as peer_loop.cpp)."""
    return source_module.load("bench/peer/cdat_loop.py")


def model_like_peer_loop(width):
    """peer_loop.cpp's model with its initial weights: GCC evaluates the arguments of torch::nn::Sequential(...)
    right to left, so the read-out layer draws its weights first. Same weights, same trajectory."""
    torch.manual_seed(0)
    out, hidden, first = torch.nn.Linear(width, 10), torch.nn.Linear(width, width), torch.nn.Linear(784, width)
    return torch.nn.Sequential(first, torch.nn.ReLU(), hidden, torch.nn.ReLU(), out)


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed_steps(step, steps):
    """Runs `step` `steps` times; per step the wall time and this process's CPU time (all threads), in ms.
    Returns (mean wall, median wall, median CPU, minor page faults a step): the CPU-time median resists other
    load on the machine; the page faults show glibc giving the heap back and faulting it in again each step
    (docs/performance.md#torchcdat-against-the-c-loop)."""
    wall, cpu = [], []
    faults = minor_faults()
    start = time.perf_counter()
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
    return (1000 * (time.perf_counter() - start) / steps, statistics.median(wall), statistics.median(cpu),
            (minor_faults() - faults) / steps)


def torchcdat_optimizer(params, defaults):
    """peer_loop's optimizer: exact curvature, or (defaults) the default options with full_batch."""
    options = {"full_batch": True} if defaults else {"curvature_mode": "exact"}
    return torchcdat.TunedOptimizer(params, direction="gd", tuner="cdat", **options)


def torchcdat_ms_per_step(x, y, width, steps, defaults):
    model = model_like_peer_loop(width)
    optimizer = torchcdat_optimizer(model.parameters(), defaults)
    closure = lambda: F.cross_entropy(model(x), y)  # noqa: E731
    for _ in range(3):  # warm-up, as peer_loop
        optimizer.step(closure)
    return timed_steps(lambda: optimizer.step(closure), steps), optimizer.last_stats["loss"]


def read_timings(out):
    values = dict(line.split()[:2] for line in out.splitlines() if line.strip())
    keys = ("ms_per_step", "median_ms_per_step", "median_cpu_ms_per_step", "minor_faults_per_step")
    timings = tuple(float(values[k]) for k in keys if k in values)  # peer_loop does not count page faults
    return timings, float(values["final_loss"])


def cpp_ms_per_step(peer_loop, width, samples, steps, threads, defaults):
    return read_timings(subprocess.run([peer_loop, "--width", str(width), "--samples", str(samples), "--steps", str(steps),
                                        "--threads", str(threads), "--defaults", str(int(defaults))], check=True, capture_output=True, text=True,
                                       env=single_blas_env(threads)).stdout)


def single_blas_env(threads):
    """With --threads 1 every side also runs OpenBLAS on one thread, so a process's CPU time is its step's cost."""
    env = dict(os.environ)
    if threads == 1:
        env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def pytorch_ms_per_step(peer, x, y, width, steps):
    """The same loop in plain PyTorch (bench/peer/cdat_loop.py's step), for the cost of the binding alone."""
    model = model_like_peer_loop(width)
    params = list(model.parameters())
    for _ in range(3):
        peer.cdat_step(model, params, x, y)
    last = [None]

    def step():
        last[0], _ = peer.cdat_step(model, params, x, y)

    return timed_steps(step, steps), float(last[0])


def same_process_ms_per_step(steps, width, samples, threads):
    """torchcdat and plain PyTorch alternating step by step in this one process: (torchcdat, plain, closure) medians,
    the closure being the Python forward pass torchcdat calls back."""
    torch.set_num_threads(threads)
    peer = load_peer()
    x, y = peer.load(samples)
    reference, model = model_like_peer_loop(width), model_like_peer_loop(width)
    params = list(reference.parameters())
    optimizer = torchcdat_optimizer(model.parameters(), defaults=False)
    in_closure = [0.0]

    def closure():
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        in_closure[0] += time.perf_counter() - start
        return loss

    ours, plain, closure_ms = [], [], []
    for _ in range(steps + 3):
        start = time.perf_counter()
        peer.cdat_step(reference, params, x, y)
        plain.append(time.perf_counter() - start)
        in_closure[0] = 0.0
        start = time.perf_counter()
        optimizer.step(closure)
        ours.append(time.perf_counter() - start)
        closure_ms.append(in_closure[0])
    return tuple(1000 * statistics.median(v[3:]) for v in (ours, plain, closure_ms))


def python_ms_per_step(worker, width, samples, steps, threads, defaults=False):
    return read_timings(subprocess.run([sys.executable, __file__, "--worker", worker, "--width", str(width), "--samples",
                                        str(samples), "--steps", str(steps), "--threads", str(threads)]
                                       + (["--defaults"] if defaults else []),
                                       check=True, capture_output=True, text=True, env=single_blas_env(threads)).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", choices=["torchcdat", "pytorch"], help="time one side once in this process")
    ap.add_argument("--peer-loop", default="build/bench/peer_loop")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--defaults", action="store_true", help="the default options with full_batch (no plain PyTorch side)")
    a = ap.parse_args()
    if a.worker:
        torch.set_num_threads(a.threads)
        peer = load_peer()
        x, y = peer.load(a.samples)
        if a.worker == "torchcdat":
            ms, loss = torchcdat_ms_per_step(x, y, a.width, a.steps, a.defaults)
        else:
            ms, loss = pytorch_ms_per_step(peer, x, y, a.width, a.steps)
        print(f"ms_per_step {ms[0]:.3f}\nmedian_ms_per_step {ms[1]:.3f}\nmedian_cpu_ms_per_step {ms[2]:.3f}\n"
              f"minor_faults_per_step {ms[3]:.1f}\nfinal_loss {loss:.6f}")
        return
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    sides = {
        "C++": lambda: cpp_ms_per_step(a.peer_loop, a.width, a.samples, a.steps, a.threads, a.defaults),
        "torchcdat": lambda: python_ms_per_step("torchcdat", a.width, a.samples, a.steps, a.threads, a.defaults),
        "plain PyTorch": lambda: python_ms_per_step("pytorch", a.width, a.samples, a.steps, a.threads),
    }
    if a.defaults:
        del sides["plain PyTorch"]  # bench/peer/cdat_loop.py has exact curvature only
    kinds = ("mean wall", "median wall", "median CPU")
    times = {name: {kind: [] for kind in kinds} for name in sides}
    for r in range(a.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))  # ABC CBA: drifts in the load hit all sides
        line = []
        for name in order:
            ms, loss = sides[name]()
            for kind, value in zip(kinds, ms):
                times[name][kind].append(value)
            faults = f", {ms[3]:.0f} faults/step" if len(ms) > 3 else ""
            line.append(f"{name} {ms[0]:7.3f} / {ms[1]:7.3f} / {ms[2]:7.3f} (loss {loss:.6f}{faults})")
        print(f"round {r:2d} (mean wall / median wall / median CPU ms a step): " + "   ".join(line), flush=True)
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    print(f"MLP 784-{a.width}-{a.width}-10 x {a.samples}, GD + CDAT, {a.steps} steps x {a.rounds} rounds, "
          f"{a.threads} thread(s); loadavg before {' '.join(load_before)}, after {' '.join(load_after)}")
    for kind in kinds:
        cpp, ours = times["C++"][kind], times["torchcdat"][kind]
        line = (f"{kind} ms/step, median over rounds: C++ {statistics.median(cpp):.3f}, torchcdat "
                f"{statistics.median(ours):.3f}; torchcdat / C++ {statistics.median(ours) / statistics.median(cpp):.4f} "
                f"(median of per-round ratios {statistics.median(p / c for p, c in zip(ours, cpp)):.4f})")
        if "plain PyTorch" in times:
            plain = times["plain PyTorch"][kind]
            line += (f"; plain PyTorch {statistics.median(plain):.3f}, torchcdat / plain PyTorch "
                     f"{statistics.median(ours) / statistics.median(plain):.4f}")
        print(line)
    if a.defaults:
        return
    ours_1, plain_1, closure_1 = same_process_ms_per_step(10 * a.steps, a.width, a.samples, a.threads)
    print(f"in one process, alternating step by step ({10 * a.steps} steps): torchcdat {ours_1:.3f} ms/step (its Python "
          f"closure {closure_1:.3f}), plain PyTorch {plain_1:.3f}, torchcdat / plain PyTorch {ours_1 / plain_1:.4f}")


if __name__ == "__main__":
    main()
