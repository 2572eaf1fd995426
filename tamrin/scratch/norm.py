"""Normalisation layers: batch norm (plus its spatial version for conv maps) and layer norm.

Batch norm follows torch.nn.BatchNorm1d/2d exactly so the two can be compared number for number:

- training: normalise with the batch mean and the *biased* batch variance (divide by N);
- running statistics: ``running = (1 - momentum) * running + momentum * batch`` with momentum 0.1,
  and the running variance uses the *unbiased* batch variance (divide by N - 1);
- running_mean starts at 0 and running_var at 1;
- test: normalise with the running statistics.

Note that CS231n's assignment writes ``running = momentum * running + (1 - momentum) * batch`` with
momentum 0.9 and stores the biased variance; that is the same idea with the other naming.

``bn_param`` is a dict that the forward pass updates in place (like CS231n):
``{"mode": "train" | "test", "eps": 1e-5, "momentum": 0.1, "running_mean": ..., "running_var": ...}``.
"""

from __future__ import annotations

import numpy as np

from tamrin.errors import UserError


def batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, D), gamma and beta (D,). Returns out (N, D) and the cache for the backward pass."""
    mode = bn_param.get("mode", "train")
    eps = bn_param.setdefault("eps", 1e-5)
    momentum = bn_param.setdefault("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.setdefault("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(d, dtype=x.dtype))

    if mode == "train":
        if n < 2:
            raise UserError("batch norm in train mode needs at least 2 examples per batch (as in torch)")
        # written as small steps, each of which has a simple local derivative (see batchnorm_backward)
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc ** 2).mean(axis=0)        # biased: this is what normalises the batch
        std = np.sqrt(var + eps)
        istd = 1.0 / std
        xhat = xc * istd
        out = gamma * xhat + beta
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * n / (n - 1)
        cache = ("train", xc, var, std, istd, xhat, gamma, eps)
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
        cache = ("test", xhat, gamma, np.sqrt(running_var + eps))
    else:
        raise UserError(f"batch norm mode must be 'train' or 'test', got {mode!r}")
    return out, cache


def batchnorm_backward(dout, cache):
    """Full backward pass through the computational graph of the forward, one node at a time.

    It makes explicit the two extra paths the textbook formula hides: the gradient through the
    batch mean and through the batch variance (both depend on every example). Returns (dx, dgamma, dbeta).
    """
    if cache[0] == "test":
        return _batchnorm_backward_test(dout, cache)
    _, xc, var, std, istd, xhat, gamma, eps = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    # xhat = xc * istd
    dxc = dxhat * istd
    distd = (dxhat * xc).sum(axis=0)
    # istd = 1 / std ; std = sqrt(var + eps)
    dstd = -distd / std ** 2
    dvar = dstd * 0.5 / std
    # var = mean(xc ** 2): the variance path
    dxc += 2.0 * xc * dvar / n
    # xc = x - mu ; mu = mean(x): the mean path
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """The same gradient in closed form (derive it on paper once; it is ~3x fewer operations):

        dx = gamma / (N * std) * (N * dout - sum(dout) - xhat * sum(dout * xhat))
    """
    if cache[0] == "test":
        return _batchnorm_backward_test(dout, cache)
    _, xc, var, std, istd, xhat, gamma, eps = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = (gamma * istd / n) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def _batchnorm_backward_test(dout, cache):
    """In test mode the statistics are constants, so batch norm is just an affine map per feature."""
    _, xhat, gamma, std = cache
    return dout * gamma / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# ----------------------------------------------------------------------------------------------
# Spatial batch norm: one statistic per channel, over (N, H, W)
# ----------------------------------------------------------------------------------------------


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, C, H, W), gamma and beta (C,): torch.nn.BatchNorm2d. Every pixel of every image is one
    "example" of its channel, so we move C last, flatten, and reuse the 1D batch norm."""
    n, c, h, w = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    bn_cache, (n, c, h, w) = cache
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, c), bn_cache)
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta


# ----------------------------------------------------------------------------------------------
# Layer norm: statistics per example, over the feature axes; no running statistics
# ----------------------------------------------------------------------------------------------


def layernorm_forward(x, gamma, beta, ln_param=None):
    """torch.nn.LayerNorm(gamma.shape): normalise each example over its trailing ``gamma.ndim`` axes.

    Same train and test behaviour (nothing is averaged over the batch). ln_param may hold "eps".
    """
    eps = (ln_param or {}).get("eps", 1e-5)
    if x.shape[x.ndim - gamma.ndim:] != gamma.shape:
        raise UserError(f"layer norm: gamma shape {gamma.shape} must match the trailing axes of x {x.shape}")
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc ** 2).mean(axis=axes, keepdims=True)
    istd = 1.0 / np.sqrt(var + eps)
    xhat = xc * istd
    return gamma * xhat + beta, (xhat, istd, gamma, axes)


def layernorm_backward(dout, cache):
    """Batch norm's closed-form backward with the roles of the axes swapped. Returns (dx, dgamma, dbeta)."""
    xhat, istd, gamma, axes = cache
    batch_axes = tuple(range(dout.ndim - gamma.ndim))
    dbeta = dout.sum(axis=batch_axes)
    dgamma = (dout * xhat).sum(axis=batch_axes)
    dxhat = dout * gamma
    m = np.prod([dout.shape[a] for a in axes])
    dx = (istd / m) * (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
                       - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta
