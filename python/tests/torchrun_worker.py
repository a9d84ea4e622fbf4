"""One rank of a data-parallel torchcdat run, started as torchrun starts it (RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT in the environment). Used by test_distributed.py; not a test itself.

Usage: torchrun_worker.py CASE OUT [--fail-at STEP] [--die-at STEP] [--linger SECONDS] [--dist-timeout SECONDS]
Writes OUT (torch.save): {"losses", "lrs", "params"} after STEPS steps, or {"error": message, "time": when} when a
step raised. Rank 1 raises in its closure at --fail-at (and stays alive --linger seconds), or exits at once at
--die-at (after writing {"error": "died", "time": when}). A rank whose step raised exits with os._exit(1): a gloo
operation left waiting when a reduction timed out keeps the process from exiting normally until the process
group's own timeout (docs/python.md).
"""
import argparse
import datetime
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

import torchcdat

STEPS = 8
N = 64


def problem():
    """The whole batch and the model, the same on every rank (float64)."""
    generator = torch.Generator().manual_seed(2024)
    x = torch.randn(N, 6, dtype=torch.float64, generator=generator)
    y = torch.randint(0, 3, (N,), generator=generator)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    return model, x, y


def shard(tensor, rank, world):
    """Rank r's contiguous part [n·r/W, n·(r+1)/W), as `cdat train --nproc` shards (docs/distributed.md)."""
    n = tensor.shape[0]
    return tensor[n * rank // world:n * (rank + 1) // world]


def tuner(case):
    return {"cdat": torchcdat.CdatTuner(), "linesearch": torchcdat.LinesearchTuner(eta_init=50.0, eta_max=50.0)}[case]


def run(case, model, closure, **data_parallel):
    """STEPS steps of GD + the case's tuner; the losses, learning rates and final parameters."""
    # Exact curvature: its reductions over ranks round within AGREEMENT of one process's; the default parabola takes
    # differences of loss values, which amplify that rounding by a factor the run sets (|f|/(h²·uᵀHu)).
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="gd", tuner=tuner(case), curvature_mode="exact",
                                         **data_parallel)
    losses, lrs = [], []
    for step in range(STEPS):
        losses.append(optimizer.step(lambda: closure(step)).item())
        lrs.append(optimizer.last_stats["lr"])
    return {"losses": losses, "lrs": lrs, "params": [p.detach().clone() for p in model.parameters()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["cdat", "linesearch"])
    ap.add_argument("out")
    ap.add_argument("--fail-at", type=int, default=-1)
    ap.add_argument("--die-at", type=int, default=-1)
    ap.add_argument("--linger", type=float, default=0.0)
    ap.add_argument("--dist-timeout", type=float, default=60.0)
    a = ap.parse_args()

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    model, x, y = problem()
    x_r, y_r = shard(x, rank, world), shard(y, rank, world)

    def report(error):
        torch.save({"error": error, "time": time.time()}, a.out)

    def closure(step):
        if rank == 1 and step == a.die_at:
            report("died")
            os._exit(3)
        if rank == 1 and step == a.fail_at:
            raise ValueError(f"rank 1 fails at step {step}")
        return F.cross_entropy(model(x_r), y_r)

    try:
        result = run(a.case, model, closure, process_group=dist.group.WORLD, shard_weight=len(y_r) / N,
                     dist_timeout=a.dist_timeout)
    except Exception as error:  # noqa: BLE001 — reported to the test through OUT
        report(f"{type(error).__name__}: {error}")
        print(f"rank {rank}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        if rank == 1:
            time.sleep(a.linger)
        os._exit(1)
    torch.save(result, a.out)
    # Both ranks leave the group together: without it, a rank whose peer has already exited can abort in Gloo's
    # teardown at interpreter exit ("terminate called without an active exception", exit -6; seen 2 in 3 runs
    # of the whole suite), after its result was written.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
