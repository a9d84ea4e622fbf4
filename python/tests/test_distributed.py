"""torchcdat under torch.distributed (issue 27): two ranks launched as torchrun launches them compute the step of one
process on the whole batch, and a rank that raises or dies makes the other fail within the timeout, never hang."""
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torchrun_worker  # noqa: E402 — the rank's program, imported for its problem and its loop

WORKER = pathlib.Path(torchrun_worker.__file__)
# Each process's own wait: far above the start of two Python processes that import torch (a few seconds).
PROCESS_DEADLINE_S = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tmp_path, case, *extra, world=2):
    """Starts `world` ranks of torchrun_worker.py with torchrun's environment; returns their processes and outputs."""
    port = free_port()
    processes, outputs = [], []
    for rank in range(world):
        out = tmp_path / f"rank{rank}.pt"
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        processes.append(subprocess.Popen([sys.executable, str(WORKER), case, str(out), *extra], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs.append(out)
    return processes, outputs


def wait_all(processes, deadline_s=PROCESS_DEADLINE_S):
    """(exit code, stderr) of each process; a process still running at the deadline is killed and fails the test."""
    start = time.monotonic()
    results = []
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=max(1.0, deadline_s - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            pytest.fail(f"a rank hung for {deadline_s} s")
        results.append((process.returncode, stderr))
    return results, time.monotonic() - start


def single_process(case):
    model, x, y = torchrun_worker.problem()
    return torchrun_worker.run(case, model, lambda step: F.cross_entropy(model(x), y))


def relative_difference(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# float64: ε = 2.2e-16. Two ranks sum (n_r/N)·f_r instead of one mean over N = 64: each reduced value differs from
# the single-process one by a few ε·(terms summed) ≈ 1e-14; the tuner's feedback over 8 steps amplifies that by far
# less than 1e5, so 1e-9 (the bound) separates rounding from any wrong reduction (a missing or double-counted
# shard changes a value by O(1)).
AGREEMENT = 1e-9


@pytest.mark.parametrize("case", ["cdat", "linesearch"])
def test_two_ranks_compute_the_single_process_steps(tmp_path, case):
    processes, outputs = launch(tmp_path, case)
    results, _ = wait_all(processes)
    for rank, (code, stderr) in enumerate(results):
        assert code == 0, f"rank {rank} failed:\n{stderr}"
    expected = single_process(case)
    ranks = [torch.load(out) for out in outputs]
    for got in ranks:
        assert max(relative_difference(a, b) for a, b in zip(got["losses"], expected["losses"])) < AGREEMENT
        assert max(relative_difference(a, b) for a, b in zip(got["lrs"], expected["lrs"])) < AGREEMENT
        for p, q in zip(got["params"], expected["params"]):
            assert torch.allclose(p, q, rtol=AGREEMENT, atol=0.0)
    # every rank holds the same bits (the reductions give every rank the same values)
    for p, q in zip(ranks[0]["params"], ranks[1]["params"]):
        assert torch.equal(p, q)
    assert expected["losses"][-1] < expected["losses"][0]  # it trains


# "raises": rank 1 raises in its closure and stays alive for LINGER_S, so only rank 0's own timeout can end its wait.
LINGER_S = 90.0


@pytest.mark.parametrize("how", [["--die-at", "3"], ["--fail-at", "3", "--linger", str(LINGER_S)]],
                         ids=["dies", "raises"])
def test_a_failing_rank_makes_the_other_fail_within_the_timeout(tmp_path, how):
    dist_timeout = 5.0
    processes, outputs = launch(tmp_path, "cdat", *how, "--dist-timeout", str(dist_timeout))
    start = time.monotonic()
    code0, stderr0 = None, ""
    try:
        _, stderr0 = processes[0].communicate(timeout=PROCESS_DEADLINE_S)
        code0 = processes[0].returncode
    except subprocess.TimeoutExpired:
        pytest.fail(f"rank 0 hung for {PROCESS_DEADLINE_S} s after rank 1 failed")
    finally:
        waited = time.monotonic() - start
        for p in processes:
            p.kill()
            p.communicate()
    assert code0 == 1, stderr0
    rank0, rank1 = torch.load(outputs[0]), torch.load(outputs[1])
    assert rank0["error"].startswith("DistributedError: torchcdat: rank 0 of 2"), rank0["error"]
    # rank 0 raised within the timeout of rank 1's failure (10 s for a loaded machine's scheduling), and exited
    # long before rank 1 would have
    assert rank0["time"] - rank1["time"] < dist_timeout + 10.0, (rank0["time"], rank1["time"])
    assert waited < LINGER_S - 30.0, waited


def test_process_group_needs_torch_distributed():
    model, _, _ = torchrun_worker.problem()
    import torchcdat
    with pytest.raises(torchcdat.InvalidOption, match="init_process_group"):
        torchcdat.CDAT(model.parameters(), process_group=object())
    with pytest.raises(torchcdat.InvalidOption, match="shard_weight needs a process_group"):
        torchcdat.CDAT(model.parameters(), shard_weight=0.5)
