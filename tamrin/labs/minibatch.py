"""Softmax regression in NumPy, for the batch-size studies: cheap enough to run hundreds of times.

- `sgd_run` trains with a given batch size and rate, recording the mini-batch loss of every update and
  the full training loss after every epoch (batch GD: one update per epoch; SGD: one per sample).
- `steps_to_target` counts the updates needed to reach a training loss, for the steps-vs-batch-size curve.
"""
from __future__ import annotations

import numpy as np


def loss_grad(w, x, y):
    """Mean cross-entropy of softmax(x @ w) (bias folded into x) and its gradient."""
    z = x @ w
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    p[np.arange(n), y] -= 1
    return float(loss), x.T @ p / n


def full_loss(w, x, y) -> float:
    return loss_grad(w, x, y)[0]


def with_bias(x) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)])


def sgd_run(x, y, k: int, batch: int, lr: float, epochs: int, seed: int = 0) -> dict:
    """Shuffled epochs of mini-batch SGD from zero weights."""
    rng = np.random.default_rng(seed)
    w = np.zeros((x.shape[1], k))
    per_update, per_epoch = [], [full_loss(w, x, y)]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for s in range(0, len(y), batch):
            idx = order[s:s + batch]
            loss, g = loss_grad(w, x[idx], y[idx])
            per_update.append(loss)
            w -= lr * g
        per_epoch.append(full_loss(w, x, y))
    return {"per_update": np.array(per_update), "per_epoch": np.array(per_epoch), "w": w}


def roughness(losses) -> float:
    """Mean |loss_t − loss_{t−1}| relative to the mean loss: 0 for a smooth curve."""
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < 2:
        return 0.0
    return float(np.abs(np.diff(losses)).mean() / np.abs(losses).mean())


def steps_to_target(x, y, k: int, batch: int, lr: float, target: float, max_steps: int, seed: int = 0,
                    check_every: int = 1) -> int | None:
    """Updates of SGD (batches drawn with replacement of whole shuffled epochs) until the full training
    loss is ≤ target; None if not within max_steps. The loss is checked every `check_every` updates, and
    every update for the first 64 so small counts stay exact."""
    rng = np.random.default_rng(seed)
    w = np.zeros((x.shape[1], k))
    order, pos = rng.permutation(len(y)), 0
    for step in range(1, max_steps + 1):
        if pos + batch > len(y):
            order, pos = rng.permutation(len(y)), 0
        idx = order[pos:pos + batch]
        pos += batch
        _, g = loss_grad(w, x[idx], y[idx])
        w -= lr * g
        if not np.all(np.isfinite(w)):
            return None
        if (step <= 64 or step % check_every == 0) and full_loss(w, x, y) <= target:
            return step
    return None
