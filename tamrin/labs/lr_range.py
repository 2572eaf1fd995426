"""Learning rates: divergence detection and the learning-rate range test (Smith 2017, fast.ai).

Range test: train for a few hundred mini-batches while the rate grows exponentially from lr_min to
lr_max, recording the (exponentially smoothed) loss. Too small a rate barely moves the loss, a good
one makes it fall fastest, too large a one makes it blow up. The usual recommendation is a rate about
ten times below the one at the smoothed loss's minimum, where the loss is still falling steeply.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def _batch(n: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n, (batch,), generator=gen)


def range_test(model, x, y, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 200, batch: int = 64,
               seed: int = 0, beta: float = 0.9, stop_factor: float = 4.0) -> dict:
    """Exponential LR sweep with plain SGD. Stops once the smoothed loss exceeds stop_factor × its best.

    Returns lrs, losses (raw), smooth (bias-corrected exponential average) and the recommendation.
    """
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    gen = torch.Generator().manual_seed(seed)
    mult = (lr_max / lr_min) ** (1 / max(1, steps - 1))
    lrs, losses, smooth = [], [], []
    avg, best = 0.0, math.inf
    for t in range(steps):
        lr = lr_min * mult ** t
        for g in opt.param_groups:
            g["lr"] = lr
        idx = _batch(len(x), batch, gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        v = float(loss.detach())
        if not math.isfinite(v):
            break
        avg = beta * avg + (1 - beta) * v
        s = avg / (1 - beta ** (t + 1))
        lrs.append(lr)
        losses.append(v)
        smooth.append(s)
        if s > stop_factor * best:
            break
        best = min(best, s)
        opt.zero_grad()
        loss.backward()
        opt.step()
    smooth_a = np.array(smooth)
    i_min = int(np.argmin(smooth_a))
    return {"lrs": np.array(lrs), "losses": np.array(losses), "smooth": smooth_a, "lr_at_min": lrs[i_min],
            "min_loss": float(smooth_a[i_min]), "recommended": lrs[i_min] / 10, "blew_up_at": lrs[-1] if len(lrs) < steps else None}


def train_curve(model, x, y, lr: float, steps: int, batch: int = 64, seed: int = 0, blowup: float = 3.0) -> dict:
    """Per-step mini-batch losses of plain SGD at a fixed rate, stopping at divergence.

    Diverged = the loss is NaN/inf, or above `blowup` × the first loss (it exploded rather than learned).
    """
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses, diverged_at = [], None
    for t in range(steps):
        idx = _batch(len(x), batch, gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        v = float(loss.detach())
        losses.append(v)
        if not math.isfinite(v) or v > blowup * losses[0]:
            diverged_at = t + 1
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"losses": np.array(losses), "diverged_at": diverged_at}
