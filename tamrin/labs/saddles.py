"""Optimisers started next to a saddle point: which ones walk away, and how fast.

Two saddles at the origin: f = x² − y² (one descending direction, gradient (2x, −2y)) and the
monkey saddle f = x³ − 3xy² (gradient (3x² − 3y², −6xy)), which is flat to second order: its gradient
vanishes quadratically, so plain GD creeps away and the adaptive methods, which divide by the
gradient's size, do much better. The update rules are the from-scratch ones of `tamrin.scratch.optim`.
"""
from __future__ import annotations

import numpy as np

from tamrin.scratch import optim


def plain_saddle(p):
    x, y = p
    return x * x - y * y


def plain_saddle_grad(p):
    x, y = p
    return np.array([2 * x, -2 * y])


def monkey_saddle(p):
    x, y = p
    return x ** 3 - 3 * x * y * y


def monkey_saddle_grad(p):
    x, y = p
    return np.array([3 * x * x - 3 * y * y, -6 * x * y])


SURFACES = {"x² − y²": (plain_saddle, plain_saddle_grad), "monkey x³ − 3xy²": (monkey_saddle, monkey_saddle_grad)}

# name -> (update rule, its config); "SGD (noisy)" is GD plus Gaussian noise on the gradient.
METHODS = {
    "GD": (optim.sgd, {}),
    "SGD (noisy)": (optim.sgd, {}),
    "momentum": (optim.sgd_momentum, {"momentum": 0.9}),
    "RMSprop": (optim.rmsprop, {"alpha": 0.9}),
    "Adam": (optim.adam, {}),
}


def trajectory(grad_fn, method: str, start, lr: float, steps: int, noise: float = 0.0, seed: int = 0,
               escape_radius: float = 1.0) -> np.ndarray:
    """Points visited (≤ steps + 1, 2); stops once the point is farther than `escape_radius` from the saddle."""
    rule, base = METHODS[method]
    config = dict(base, learning_rate=lr)
    rng = np.random.default_rng(seed)
    p = np.asarray(start, dtype=np.float64)
    pts = [p]
    for _ in range(steps):
        g = grad_fn(p)
        if method == "SGD (noisy)":
            g = g + noise * rng.normal(size=2)
        p, config = rule(p, g, config)
        pts.append(p)
        if np.linalg.norm(p) > escape_radius:
            break
    return np.array(pts)


def escape_step(points, escape_radius: float = 1.0) -> int | None:
    """First step at which the trajectory is farther than `escape_radius` from the saddle (None: never)."""
    d = np.linalg.norm(points, axis=1)
    out = np.nonzero(d > escape_radius)[0]
    return int(out[0]) if len(out) else None
