"""Predefined evenly-distributed class centroids (PEDCC, Zhu et al. 2019).

Instead of learning the classifier, fix k unit vectors as far apart as possible and pull each
sample's feature onto its class's vector. When k ≤ d + 1 the best arrangement is a regular simplex:
all pairwise distances equal, every inner product −1/(k − 1). In 2-D with more classes it is the
regular polygon (equal neighbour distances). Otherwise points repel on the sphere until they settle.
"""
from __future__ import annotations

import numpy as np


def simplex(k: int, d: int, seed: int = 0) -> np.ndarray:
    """k unit vectors in R^d (k ≤ d + 1) with all pairwise inner products −1/(k − 1)."""
    if k > d + 1:
        raise ValueError(f"a regular simplex of {k} points needs d ≥ {k - 1}, got d = {d}")
    e = np.eye(k) - 1.0 / k  # centred standard basis: a simplex in the (k−1)-dim plane Σx = 0
    u, s, _ = np.linalg.svd(e)
    coords = u[:, : k - 1] * s[: k - 1]  # the same points in k − 1 coordinates
    coords /= np.linalg.norm(coords, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return coords @ q[: k - 1]  # a random rotation into R^d keeps distances


def polygon(k: int) -> np.ndarray:
    a = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(a), np.sin(a)], 1)


def repel(k: int, d: int, steps: int = 2000, lr: float = 0.05, seed: int = 0) -> np.ndarray:
    """k points on the unit sphere in R^d pushed apart by an inverse-square-like force."""
    x = np.random.default_rng(seed).normal(size=(k, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for _ in range(steps):
        diff = x[:, None] - x[None]
        dist = np.linalg.norm(diff, axis=2) + np.eye(k)
        force = (diff / dist[..., None] ** 3).sum(1)
        x = x + lr * force / k
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def centroids(k: int, d: int, seed: int = 0) -> np.ndarray:
    """The PEDCC for k classes in d dimensions, (k, d), unit rows."""
    if k <= d + 1:
        return simplex(k, d, seed)
    if d == 2:
        return polygon(k)
    return repel(k, d, seed=seed)


def pairwise_distances(c) -> np.ndarray:
    """The k(k − 1)/2 distances between distinct centroids."""
    i, j = np.triu_indices(len(c), 1)
    return np.linalg.norm(c[i] - c[j], axis=1)
