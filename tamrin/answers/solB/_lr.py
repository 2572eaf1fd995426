"""solB.q1a / q1b: a learning rate that is too high / too low, measured on the labs' small MNIST MLP.

One sweep of fixed rates (cached, both answers read it): plain SGD, batch 64, the same initial weights for
every rate; the loss on the whole training split is recorded every few updates, so "fast", "stalls",
"oscillates" and "diverges" are read from a curve without mini-batch noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class SweepConfig:
    rates: tuple = (0.001, 0.1, 0.316, 1.0, 3.16, 31.6)  # from far too low to far too high
    steps: int = 150
    every: int = 10  # full-train-loss evaluation period
    batch: int = 64
    hidden: int = 64
    blowup: float = 3.0  # diverged: the full loss is NaN/inf or above blowup × the initial loss
    limit: int = 1000  # images of the labs' MNIST subset (stratified)


@dataclass
class Curve:
    lr: float
    steps: list = field(default_factory=list)
    train: list = field(default_factory=list)  # full training-split loss at `steps`
    val: float = math.nan  # validation loss at the end
    train_acc: float = math.nan
    val_acc: float = math.nan
    diverged_at: int | None = None


def _eval(model, x, y):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        z = model(x)
        return float(F.cross_entropy(z, y)), float((z.argmax(1) == y).float().mean())


def _run(lr: float, data, cfg: SweepConfig, seed: int) -> Curve:
    import torch
    import torch.nn.functional as F

    from tamrin.labs.nets import MLP

    (xt, yt), (xv, yv) = data
    torch.manual_seed(seed)  # same initial weights at every rate
    model = MLP(int(np.prod(xt.shape[1:])), hidden=(cfg.hidden,))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)  # same batch order at every rate
    c = Curve(lr)
    first = _eval(model, xt, yt)[0]
    c.steps.append(0)
    c.train.append(first)
    for t in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(xt), (cfg.batch,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()
        if t % cfg.every == 0:
            v = _eval(model, xt, yt)[0]
            c.steps.append(t)
            c.train.append(v if math.isfinite(v) else math.inf)
            if not math.isfinite(v) or v > cfg.blowup * first:
                c.diverged_at = t
                break
    if c.diverged_at is None:
        c.train[-1], c.train_acc = _eval(model, xt, yt)
        c.val, c.val_acc = _eval(model, xv, yv)
    return c


@lru_cache(maxsize=4)
def sweep(seed: int = 0, cfg: SweepConfig = SweepConfig()) -> dict:
    """Curves at every rate, and the rates named from them: `good` (lowest final training loss among the rates
    that learnt), `low` (the smallest rate), `high` (the largest rate above `good` that still learnt), `wild` (the
    smallest rate above `good` that learnt nothing: it diverged or ended within 10% of the initial loss) and
    `diverged` (the smallest that diverged)."""
    from tamrin.labs.data import small_mnist, train_val
    from tamrin.labs.threads import one_thread

    with one_thread():
        x, y, ds = small_mnist("", None, 14, cfg.limit, seed)
        data = train_val(x, y, 0.2, seed)
        curves = [_run(lr, data, cfg, seed) for lr in cfg.rates]
    learnt = [c for c in curves if learned(c)]
    if not learnt:
        raise RuntimeError(f"no rate of {cfg.rates} lowered the training loss by 10%: the sweep cannot name a good rate")
    good = min(learnt, key=lambda c: c.train[-1])
    above = [c for c in curves if c.lr > good.lr]
    high = [c for c in above if learned(c)]
    wild = [c for c in above if not learned(c)]
    div = [c for c in curves if c.diverged_at is not None]
    return {"curves": curves, "good": good, "low": curves[0], "high": high[-1] if high else None,
            "wild": wild[0] if wild else None, "diverged": div[0] if div else None, "n_train": len(data[0][1]),
            "n_val": len(data[1][1]), "source": ds.source, "cfg": cfg, "seed": seed}


def learned(c: Curve) -> bool:
    """Did the run learn: no divergence and a final training loss at least 10% below the initial one."""
    return c.diverged_at is None and c.train[-1] < 0.9 * c.train[0]


def ups(curve: Curve) -> float:
    """Fraction of evaluations at which the full training loss went UP: 0 for a monotone descent."""
    t = np.asarray(curve.train, dtype=float)
    return float(np.mean(np.diff(t) > 0)) if len(t) > 1 else 0.0


def loss_at(curve: Curve, step: int) -> float:
    """Full training loss at the first evaluation at or after `step` (inf once diverged)."""
    for s, v in zip(curve.steps, curve.train):
        if s >= step:
            return float(v)
    return math.inf


def figure(ctx, res: dict, name: str, highlight: tuple) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for c in res["curves"]:
        lab = next((k for k in highlight if res.get(k) is c), None)
        t = np.minimum(np.asarray(c.train, dtype=float), 3 * res["cfg"].blowup * c.train[0])
        ax.plot(c.steps, t, lw=2.2 if lab else 0.8, alpha=1 if lab else 0.4,
                label=f"lr={c.lr:.3g}" + (f" ({lab})" if lab else "") + (" diverged" if c.diverged_at and lab != "diverged" else ""))
    ax.set(xlabel="update", ylabel="full training loss", yscale="log", title="plain SGD, same start, one rate per curve")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return ctx.figure(fig, name)
