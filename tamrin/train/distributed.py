"""Multi-process training under `torchrun` (DistributedDataParallel): gloo on CPU, nccl on GPUs.

Without torchrun (no WORLD_SIZE in the environment) everything here is a no-op and training is
single-process, so the same command serves a 2-core laptop and a GPU cluster.

How the data is split: every rank draws the same epoch permutation (DistributedSampler with
set_epoch(epoch) and the run's seed) and takes its interleaved share; the k-th local batches of all
ranks together are exactly the k-th global batch of a 1-process run with batch size
world_size x local batch. DDP averages gradients, so with equal shares the update equals the
1-process update (tests/test_distributed.py checks this).
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(device_type: str = "cpu") -> bool:
    """Initialise the process group when launched by torchrun. Returns True if distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def broadcast_object(obj):
    """Rank 0's value on every rank (e.g. the run folder path)."""
    if world_size() == 1:
        return obj
    box = [obj if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sum(values: list[float]) -> list[float]:
    if world_size() == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def epoch_indices(n: int, seed: int, epoch: int) -> torch.Tensor:
    """This rank's sample order for `epoch`, via DistributedSampler(set_epoch) so it matches torch's semantics."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=world_size(), rank=rank(), shuffle=True, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    return torch.tensor(list(iter(sampler)), dtype=torch.long)


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()
