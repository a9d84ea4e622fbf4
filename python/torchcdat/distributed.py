"""Data parallelism under torchrun / torch.distributed (docs/python.md, "Several processes").

Each rank passes the closure of its own shard; the core reduces every value a step reads (the loss, the
gradient, uᵀHu, trial values f(w + ηu)) as the shard-weighted sum over the ranks, through the process group given
to the optimizer (include/cdat/collective.h, docs/distributed.md): every rank computes the same step as one process
on the whole batch. DistributedDataParallel cannot serve: its gradient hooks reduce the first backward only, not the
double backward uᵀHu needs nor the trial forwards, which would leave the ranks with different learning rates.
"""
import datetime

import torch
import torch.distributed as dist

from .errors import InvalidOption


class DistributedError(RuntimeError):
    """A reduction did not complete: another rank raised, died, or was slower than the timeout."""


class AllReduce:
    """In-place sum of a flat tensor over the ranks of `group`, waiting at most `timeout` seconds; the callable the
    core's cdat::Collective calls (python/src/bindings.cpp: PythonCollective)."""

    def __init__(self, group, timeout):
        if not dist.is_available() or not dist.is_initialized():
            raise InvalidOption("torchcdat: process_group needs torch.distributed initialised "
                                "(torch.distributed.init_process_group, e.g. under torchrun)")
        if not timeout > 0:
            raise InvalidOption(f"torchcdat: dist_timeout must be > 0 seconds, got {timeout}")
        self.group = group
        self.timeout = datetime.timedelta(seconds=timeout)
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        # NCCL reduces CUDA tensors only; the core's scalars (loss, gᵀu, uᵀHu) are CPU float64 tensors.
        nccl = dist.get_backend(group) == "nccl"
        self.device = torch.device("cuda", torch.cuda.current_device()) if nccl else None
        self.reductions = 0

    def __call__(self, flat):
        on_device = flat if self.device is None or flat.device == self.device else flat.to(self.device)
        self.reductions += 1
        try:
            work = dist.all_reduce(on_device, op=dist.ReduceOp.SUM, group=self.group, async_op=True)
            work.wait(self.timeout)
        except RuntimeError as error:
            raise DistributedError(
                f"torchcdat: rank {self.rank} of {self.world_size}: reduction {self.reductions} failed (it waits at "
                f"most {self.timeout.total_seconds():g} s; another rank raised, died, or is slower): {error}"
            ) from None
        if on_device is not flat:
            flat.copy_(on_device)

    def broadcast_from_rank0(self, tensors):
        """Every rank starts from rank 0's values (as DistributedDataParallel does at construction): a sum in which
        the other ranks add zeros (exact), so that it needs no global rank of the group's first member."""
        with torch.no_grad():
            for tensor in tensors:
                flat = tensor.detach().flatten().clone() if self.rank == 0 else torch.zeros_like(tensor).flatten()
                self(flat)
                tensor.copy_(flat.view_as(tensor))
