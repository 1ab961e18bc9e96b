"""DistributedDataParallel setup for `torchrun` / `python3 -m torch.distributed.run`.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR/PORT; without them training runs in one
process. Backend: nccl when training on CUDA, gloo on CPU.
"""

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


class DistContext:
    def __init__(self, rank=0, world_size=1, local_rank=0, backend=None):
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.backend = backend

    @property
    def enabled(self):
        return self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0


def init_distributed(device):
    """Joins the process group when launched by torchrun; returns (DistContext, device to use)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(), device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend)
    return DistContext(rank, world_size, local_rank, backend), device


def wrap(module, ctx, device):
    if not ctx.enabled:
        return module
    if device.type == "cuda":
        return DistributedDataParallel(module, device_ids=[device.index])
    return DistributedDataParallel(module)


def all_reduce_sum(values, ctx, device):
    """Sums a list of floats over all ranks (identity in a single process)."""
    if not ctx.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def any_rank(flag, ctx, device):
    """True when `flag` is true on any rank, so every rank takes the same stop decision."""
    return all_reduce_sum([1.0 if flag else 0.0], ctx, device)[0] > 0


def barrier(ctx):
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx):
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
