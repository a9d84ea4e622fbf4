"""steps/s of `cdat train` on 2 ranks × 1 thread against 1 process × 2 threads (the MLP workload:
Fashion-MNIST subset, MLP, GD + CDAT, full batch), and the bytes each rank all-reduces per step.
Runs back to back, in one invocation; report the machine load with the numbers (docs/distributed.md).

usage: /usr/bin/python3 bench/distributed_bench.py build/apps/cdat/cdat [steps] [repeats]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

CDAT = sys.argv[1]
STEPS = sys.argv[2] if len(sys.argv) > 2 else "100"
REPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
WORKLOAD = ["train", "-q", "--train-size", "2048", "--optimizer", "gd", "--tuner", "cdat", "--sharpness-every", "0",
            "--steps", STEPS]
CONFIGS = {"1 process x 2 threads": ["--threads", "2"], "2 ranks x 1 thread": ["--threads", "1", "--nproc", "2"]}


def run(out, extra):
    subprocess.run([CDAT] + WORKLOAD + ["--out", out] + extra, check=True, capture_output=True)
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


with tempfile.TemporaryDirectory() as work:
    print(f"load average before: {os.getloadavg()}")
    rates = {name: [] for name in CONFIGS}
    bytes_per_step = None
    for i in range(REPEATS):
        for name, extra in CONFIGS.items():
            summary = run(os.path.join(work, f"{i}-{len(rates[name])}-{extra[-1]}"), extra)
            rates[name].append(summary["steps"] / summary["wall_time_s"])
            if "bytes_reduced_per_rank" in summary:
                bytes_per_step = summary["bytes_reduced_per_rank"] / summary["steps"]
    print(f"load average after: {os.getloadavg()}")
    for name, values in rates.items():
        print(f"{name}: median {statistics.median(values):.2f} steps/s over {REPEATS} runs of {STEPS} steps "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(rates["2 ranks x 1 thread"]) / statistics.median(rates["1 process x 2 threads"])
    print(f"ratio 2 ranks / 2 threads: {ratio:.2f}")
    print(f"bytes all-reduced per step and rank: {bytes_per_step:.0f}")
