"""Elementwise and fully connected layers, written in the style of CS231n / EECS 498.

Every layer is a pair of plain functions:

    out, cache = X_forward(x, ...)      # cache holds whatever the backward pass needs
    grads      = X_backward(dout, cache)

``dout`` is the upstream gradient dL/d(out); the backward returns dL/d(input) (and dL/d(parameters)).
Nothing here knows about a graph or an optimizer: a network is just a sequence of these calls.

This module never imports torch; the tests use torch as the oracle.
"""

from __future__ import annotations

import numpy as np

from tamrin.errors import UserError

# ----------------------------------------------------------------------------------------------
# Affine (fully connected)
# ----------------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    """out = x_flat @ w + b.

    x: (N, d_1, ..., d_k) — each example is flattened to a row of D = d_1 * ... * d_k values,
    w: (D, M), b: (M,). Returns out (N, M) and cache (x, w, b).
    """
    n = x.shape[0]
    out = x.reshape(n, -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients of the affine layer: (dx with x's shape, dw (D, M), db (M,))."""
    x, w, b = cache
    n = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ----------------------------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------------------------


def relu_forward(x):
    """out = max(0, x). The cache is the input (its sign decides where gradient flows)."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0 (at exactly 0 we use 0, like torch)."""
    x = cache
    return dout * (x > 0)


def sigmoid(x):
    """Numerically stable logistic function: never evaluates exp of a large positive number."""
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])  # x < 0 here, so exp(x) < 1 cannot overflow
    out[~pos] = ex / (1.0 + ex)
    return out


def sigmoid_forward(x):
    """out = 1 / (1 + exp(-x)). The cache is the output: sigma'(x) = sigma(x) (1 - sigma(x))."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """out = tanh(x). The cache is the output: tanh'(x) = 1 - tanh(x)^2."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    t = cache
    return dout * (1.0 - t * t)


# ----------------------------------------------------------------------------------------------
# Inverted dropout
# ----------------------------------------------------------------------------------------------


def dropout_forward(x, p=0.5, mode="train", seed=None):
    """Inverted dropout.

    ``p`` is the probability of DROPPING a unit (zeroing it), as in EECS 498 A3, torch.nn.Dropout(p)
    and Keras. CS231n's 2017+ assignment uses ``p`` as the KEEP probability instead; we chose the drop
    probability so that ``dropout_forward(x, p)`` means exactly what ``torch.nn.Dropout(p)`` means and
    the two can be compared side by side. ``p=0`` is the identity.

    "Inverted": in training the kept units are divided by (1 - p), so E[out] = x and the test-time
    pass is the identity (no rescaling needed at inference).

    mode: "train" or "test". seed: None, an int (reproducible mask) or a numpy Generator.
    Returns out and cache (mask, p, mode); the mask already includes the 1 / (1 - p) factor.
    """
    if not 0.0 <= p < 1.0:
        raise UserError(f"dropout p is the drop probability and must be in [0, 1), got {p}")
    if mode not in ("train", "test"):
        raise UserError(f"dropout mode must be 'train' or 'test', got {mode!r}")
    if mode == "test" or p == 0.0:
        return x, (None, p, mode)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    keep = rng.random(x.shape) >= p  # each unit survives with probability 1 - p
    mask = keep.astype(x.dtype) / (1.0 - p)
    return x * mask, (mask, p, mode)


def dropout_backward(dout, cache):
    """Gradient flows only through the kept units, with the same 1 / (1 - p) scale."""
    mask, p, mode = cache
    if mask is None:
        return dout
    return dout * mask
