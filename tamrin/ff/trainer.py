"""A small epoch loop with per-epoch checkpoints, shared by FF and its backprop baseline.

tamrin.train.fit assumes one loss on (inputs, targets); FF has one loss per layer on positive and
negative data generated on the fly, so it has its own loop. Everything random (shuffling,
negatives, masks) comes from ONE torch.Generator whose state is checkpointed with the model and
optimizer, so a run killed after epoch k and resumed gives bit-identical final weights.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable

import torch
from tqdm import tqdm

from tamrin.ff.checkpoint import load_checkpoint, save_checkpoint


def lr_at(epoch: int, epochs: int, lr: float, decay: bool) -> float:
    """Constant for the first half, then linear decay towards 0 (as in Hinton's FF code)."""
    if not decay or epochs < 2:
        return lr
    half = epochs // 2
    if epoch < half:
        return lr
    return lr * (epochs - epoch) / (epochs - half)


@contextmanager
def flush_denormals():
    """Treat subnormal floats as zero while training, then restore IEEE behaviour.

    FF's loss arguments reach the hundreds (threshold = layer width), so sigmoid terms underflow and Adam's
    moment estimates fill with subnormal numbers, which x86 CPUs process ~100x slower: measured, epochs slowed
    from 0.42 s to 1.58 s over 60 epochs (issue #18). Flushing them to zero changes no result that matters (they are
    below 1.2e-38) and keeps the epoch time flat."""
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        if supported:
            torch.set_flush_denormal(False)


def adam(params, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam, fused (one kernel per step for all tensors) where torch has it for these tensors.

    At FF's batch of 50 the optimizer step is a fifth of the epoch with the default multi-tensor Adam; the fused
    kernel reads and writes each state tensor once (benchmarks/ff_peers.md, issue #18). Same update rule; the
    floating-point rounding differs from the unfused kernel, so numbers are not bit-identical across the two."""
    params = list(params)
    fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def _to_floats(stats: dict) -> dict:
    """Tensor stats read in ONE device sync (a .item() per stat costs a sync each)."""
    keys = [k for k, v in stats.items() if torch.is_tensor(v)]
    if not keys:
        return stats
    vals = torch.stack([stats[k].detach().reshape(()).double() for k in keys]).tolist()
    return {**stats, **dict(zip(keys, vals))}


def fit_epochs(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batch_fn: Callable[[torch.Tensor, int], tuple[torch.Tensor, dict]],
    n: int,
    epochs: int,
    batch_size: int,
    lr: float,
    run,
    tag: str,
    generator: torch.Generator,
    eval_fn: Callable[[torch.nn.Module], dict] | None = None,
    lr_decay: bool = True,
    epoch_lr: Callable[[int], float] | None = None,
) -> list[dict]:
    """Train for `epochs`; returns the per-epoch history (also logged to run.metrics with `tag`).

    batch_fn(idx, epoch) -> (loss to minimise, {stat: float}) for the training rows `idx`.
    Stats are averaged over the epoch weighted by batch size. A finished tag is not retrained.
    """
    path = run.checkpoints_dir / f"{tag}.pt"
    history: list[dict] = []
    start = 0
    state = load_checkpoint(path)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        start, history = int(state["epoch"]), list(state["history"])
    # drop metrics logged after the checkpoint (the epoch that was interrupted is redone), also when a
    # kill came between the first epoch's log record and its first checkpoint
    run.truncate_metrics(lambda r: r.get("tag") != tag or r.get("epoch", 0) <= start)
    if state is not None:
        if start:
            run.info(f"{tag}: resuming after epoch {start}/{epochs}")
    with flush_denormals():
        history = _loop(model, optimizer, batch_fn, n, epochs, batch_size, lr, run, tag, generator, eval_fn, lr_decay, epoch_lr,
                        start, history, path)
    model.eval()
    return history


def _loop(model, optimizer, batch_fn, n, epochs, batch_size, lr, run, tag, generator, eval_fn, lr_decay, epoch_lr, start,
          history, path) -> list[dict]:
    bar = tqdm(range(start, epochs), desc=tag, disable=not sys.stderr.isatty(), initial=start, total=epochs)
    for epoch in bar:
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(epoch) if epoch_lr else lr_at(epoch, epochs, lr, lr_decay)
        model.train()
        perm = torch.randperm(n, generator=generator)
        sums: dict[str, float] = {}
        t0 = time.perf_counter()
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            loss, stats = batch_fn(idx, epoch)
            stats = _to_floats(stats)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
        seconds = time.perf_counter() - t0
        rec = {"tag": tag, "epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "seconds": seconds, "images_per_s": n / seconds}
        rec.update({k: v / n for k, v in sums.items()})
        if eval_fn is not None:
            model.eval()
            rec.update(eval_fn(model))
        history.append(rec)
        run.log(rec)
        bar.set_postfix({k: f"{v:.3g}" for k, v in rec.items() if k in ("loss", "val_err")})
        save_checkpoint(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "generator": generator.get_state(), "epoch": epoch + 1, "history": history})
    return history
