"""Gradient checking: compare an analytic backward pass with centred finite differences.

Centred differences, (f(x + h) - f(x - h)) / 2h, have truncation error O(h^2) instead of the O(h) of
one-sided differences; in float64 with h = 1e-5 the error is usually ~1e-10 relative, so an analytic
gradient that disagrees by more than ~1e-7 has a bug. Use float64: in float32 round-off dominates.
"""

from __future__ import annotations

import numpy as np


def eval_numerical_gradient(f, x, h=1e-5):
    """Numerical gradient of a scalar function ``f(x)`` at ``x`` (x is perturbed in place and restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient for an array-valued ``f(x)`` with upstream gradient ``df``:
    the gradient of the scalar sum(f(x) * df), i.e. what a backward pass given dout=df must return."""
    return eval_numerical_gradient(lambda z: np.sum(f(z) * df), x, h)


def rel_error(x, y):
    """Relative error ||x - y|| / max(||x|| + ||y||, 1e-12) (Euclidean norms over all entries).

    CS231n takes the *elementwise* maximum of |x - y| / (|x| + |y|); that blows up on entries whose
    true gradient is ~0, where finite differences can only return round-off noise, and makes random
    tests flaky. The norm-wise ratio measures the same thing on the whole gradient: < 1e-7 is correct.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ, {x.shape} vs {y.shape}")
    return float(np.linalg.norm(x - y) / max(np.linalg.norm(x) + np.linalg.norm(y), 1e-12))


def check_layer(forward, backward, inputs, params=None, seed=0, h=1e-5):
    """Gradient-check a layer: returns {input name: rel_error(analytic, numerical)}.

    forward(**inputs, **params) -> (out, cache); backward(dout, cache) -> one gradient or a tuple of
    gradients in the order of ``inputs`` (a dict of float64 arrays; params are the non-array settings).
    A random upstream gradient ``dout`` is used, so every output position is weighted differently.

    Example::

        errs = check_layer(conv2d_forward, conv2d_backward, {"x": x, "w": w, "b": b}, {"stride": 2})
        assert max(errs.values()) < 1e-7
    """
    params = params or {}
    inputs = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    out, cache = forward(**inputs, **params)
    # a different stream from default_rng(seed): if the caller drew x from default_rng(seed) too,
    # dout would equal x, and for normalisation layers dL/dx is then exactly 0 (nothing is checked)
    dout = np.random.default_rng([seed, 2**32 - 1]).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    errors = {}
    for (name, value), grad in zip(inputs.items(), grads):
        if grad is None:
            continue

        def f(z, name=name):
            return forward(**{**inputs, name: z}, **params)[0]

        num = eval_numerical_gradient_array(f, value, dout, h)
        errors[name] = rel_error(grad, num)
    return errors
