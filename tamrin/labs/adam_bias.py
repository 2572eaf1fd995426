"""Adam's first moment with m_0 = 0 is biased toward zero early on; m̂_t = m_t/(1 − β1^t) fixes it.

m_t = β1 m_{t−1} + (1 − β1) g_t = (1 − β1) Σ_{s≤t} β1^{t−s} g_s, whose weights sum to 1 − β1^t, not 1:
for a stationary gradient with mean μ, E[m_t] = (1 − β1^t) μ. Dividing by 1 − β1^t makes it unbiased.
"""
from __future__ import annotations

import numpy as np


def moments(grads, beta1: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """m_t and m̂_t for t = 1..len(grads) from a stream of (scalar) gradients."""
    m, ms, mhat = 0.0, [], []
    for t, g in enumerate(np.asarray(grads, dtype=np.float64), start=1):
        m = beta1 * m + (1 - beta1) * g
        ms.append(m)
        mhat.append(m / (1 - beta1 ** t))
    return np.array(ms), np.array(mhat)


def expected_moments(mu: float, steps: int, beta1: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """E[m_t] = (1 − β1^t) μ and E[m̂_t] = μ for a gradient stream of mean μ."""
    t = np.arange(1, steps + 1)
    return (1 - beta1 ** t) * mu, np.full(steps, float(mu))


def noisy_gradients(mu: float, sigma: float, steps: int, runs: int, seed: int = 0) -> np.ndarray:
    """(runs, steps) stochastic gradients g = μ + σ·N(0, 1)."""
    return mu + sigma * np.random.default_rng(seed).normal(size=(runs, steps))
