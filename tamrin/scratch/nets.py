"""Networks built from the `tamrin.scratch` layer functions: a fully connected net and a small ConvNet.

Both follow the CS231n convention: `params` is a dict of arrays, and `loss(X, y=None)` returns
class scores when `y` is None (test mode) or `(loss, grads)` with `grads[k]` = dL/d`params[k]`
(train mode). The forward pass stores each layer's cache; the backward pass walks them in reverse.
"""
from __future__ import annotations

import numpy as np

from tamrin.errors import UserError
from tamrin.scratch import layers as L
from tamrin.scratch.losses import softmax_loss

__all__ = ["FullyConnectedNet", "ConvNet", "init_weight"]

_INITS = ("normal", "xavier", "he", "zero")
_NORMS = (None, "batchnorm", "layernorm")


def init_weight(rng: np.random.Generator, fan_in: int, fan_out: int, init: str, weight_scale: float, shape=None):
    """A weight matrix of `shape` (default (fan_in, fan_out)).

    normal: N(0, weight_scale^2) - the classic "small random numbers"; the right scale depends on depth.
    xavier: N(0, 1/fan_in) - keeps the variance of activations constant through linear/tanh layers
            (the fan-in form of Glorot & Bengio 2010).
    he:     N(0, 2/fan_in) - the factor 2 compensates ReLU zeroing half of its inputs (He et al. 2015).
    zero:   all zeros - every hidden unit computes the same function and receives the same gradient,
            so they stay identical forever (the symmetry problem; shown in fc-from-scratch).
    """
    shape = shape or (fan_in, fan_out)
    if init == "zero":
        return np.zeros(shape)
    std = {"normal": weight_scale, "xavier": np.sqrt(1.0 / fan_in), "he": np.sqrt(2.0 / fan_in)}[init]
    return rng.standard_normal(shape) * std


def _norm_forward(kind, h, gamma, beta, bn_param):
    from tamrin.scratch import norm as N

    if kind == "batchnorm":
        return N.batchnorm_forward(h, gamma, beta, bn_param)
    return N.layernorm_forward(h, gamma, beta, bn_param)


def _norm_backward(kind, dout, cache):
    from tamrin.scratch import norm as N

    if kind == "batchnorm":
        return N.batchnorm_backward(dout, cache)
    return N.layernorm_backward(dout, cache)


class FullyConnectedNet:
    """{affine - [batch/layer norm] - ReLU - [dropout]} x (L - 1) - affine - softmax.

    hidden_dims: sizes of the hidden layers; dropout: DROP probability (0 = no dropout);
    normalization: None, "batchnorm" or "layernorm"; reg: L2 strength (loss += 0.5 * reg * sum W^2,
    biases and norm parameters are not regularised); init: normal (std weight_scale), xavier, he, zero;
    dtype: float32 (fast training) or float64 (gradient checks); seed: weights and dropout masks.
    """

    def __init__(self, hidden_dims=(100, 100), input_dim: int = 3 * 32 * 32, num_classes: int = 10,
                 dropout: float = 0.0, normalization: str | None = None, reg: float = 0.0,
                 weight_scale: float = 1e-2, init: str = "normal", dtype=np.float32, seed: int | None = 0):
        if normalization not in _NORMS:
            raise UserError(f"unknown normalization {normalization!r}; choose one of: none, batchnorm, layernorm")
        if init not in _INITS:
            raise UserError(f"unknown init {init!r}; choose one of: {', '.join(_INITS)}")
        if not 0.0 <= dropout < 1.0:
            raise UserError(f"dropout is the drop probability and must be in [0, 1), got {dropout}")
        self.normalization = normalization
        self.use_dropout = dropout > 0
        self.dropout = float(dropout)
        self.reg = float(reg)
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        # A fixed int makes every forward pass use the same dropout masks (needed for gradient checks);
        # None draws fresh masks from self.rng on every training pass.
        self.dropout_seed: int | None = None

        dims = [int(input_dim)] + [int(h) for h in hidden_dims] + [int(num_classes)]
        self.params: dict[str, np.ndarray] = {}
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = init_weight(self.rng, dims[i], dims[i + 1], init, weight_scale)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        # running statistics (batch norm) live outside params: they are not trained by gradient descent
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if normalization else []
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        for bn in self.bn_params:
            bn["mode"] = mode
        caches = []
        h = X
        for i in range(1, self.num_layers):
            h, c_aff = L.affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            c_norm = None
            if self.normalization:
                h, c_norm = _norm_forward(self.normalization, h, self.params[f"gamma{i}"],
                                          self.params[f"beta{i}"], self.bn_params[i - 1])
            h, c_relu = L.relu_forward(h)
            c_drop = None
            if self.use_dropout:
                seed = self.rng if self.dropout_seed is None else self.dropout_seed + i
                h, c_drop = L.dropout_forward(h, self.dropout, mode, seed)
            caches.append((c_aff, c_norm, c_relu, c_drop))
        n = self.num_layers
        scores, c_last = L.affine_forward(h, self.params[f"W{n}"], self.params[f"b{n}"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        dh, grads[f"W{n}"], grads[f"b{n}"] = L.affine_backward(dscores, c_last)
        for i in range(n - 1, 0, -1):
            c_aff, c_norm, c_relu, c_drop = caches[i - 1]
            if c_drop is not None:
                dh = L.dropout_backward(dh, c_drop)
            dh = L.relu_backward(dh, c_relu)
            if c_norm is not None:
                dh, grads[f"gamma{i}"], grads[f"beta{i}"] = _norm_backward(self.normalization, dh, c_norm)
            if i == 1:
                # nothing needs dL/dX of the input images: skip that matmul (a third of layer 1's backward
                # cost; PyTorch skips it too, because the input does not require grad)
                x_in = c_aff[0]
                grads["W1"] = x_in.reshape(len(x_in), -1).T @ dh
                grads["b1"] = dh.sum(axis=0)
            else:
                dh, grads[f"W{i}"], grads[f"b{i}"] = L.affine_backward(dh, c_aff)
        if self.reg:  # L2 on weight matrices only
            for i in range(1, n + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return float(loss), grads


class ConvNet:
    """conv(3x3, pad 1) - ReLU - 2x2 max pool - affine - ReLU - affine - softmax.

    input_dim: (C, H, W) with H and W even; images are (N, C, H, W).
    """

    def __init__(self, input_dim=(1, 28, 28), num_filters: int = 8, filter_size: int = 3, hidden_dim: int = 64,
                 num_classes: int = 10, reg: float = 0.0, init: str = "he", weight_scale: float = 1e-2,
                 dtype=np.float32, seed: int | None = 0):
        if init not in _INITS:
            raise UserError(f"unknown init {init!r}; choose one of: {', '.join(_INITS)}")
        if filter_size % 2 != 1:
            raise UserError(f"ConvNet filter_size must be odd (same padding), got {filter_size}")
        C, H, W = input_dim
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.pad = filter_size // 2
        rng = np.random.default_rng(seed)
        flat = num_filters * (H // 2) * (W // 2)
        self.params = {
            "W1": init_weight(rng, C * filter_size ** 2, num_filters, init, weight_scale,
                              shape=(num_filters, C, filter_size, filter_size)),
            "b1": np.zeros(num_filters),
            "W2": init_weight(rng, flat, hidden_dim, init, weight_scale),
            "b2": np.zeros(hidden_dim),
            "W3": init_weight(rng, hidden_dim, num_classes, init, weight_scale),
            "b3": np.zeros(num_classes),
        }
        self.params = {k: v.astype(self.dtype) for k, v in self.params.items()}

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        from tamrin.scratch import conv as C, pool as P

        p = self.params
        X = X.astype(self.dtype, copy=False)
        h, c_conv = C.conv2d_forward(X, p["W1"], p["b1"], stride=1, padding=self.pad)
        h, c_r1 = L.relu_forward(h)
        h, c_pool = P.max_pool_forward(h, kernel_size=2, stride=2)
        h, c_a2 = L.affine_forward(h, p["W2"], p["b2"])
        h, c_r2 = L.relu_forward(h)
        scores, c_a3 = L.affine_forward(h, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, d = softmax_loss(scores, y)
        g = {}
        d, g["W3"], g["b3"] = L.affine_backward(d, c_a3)
        d = L.relu_backward(d, c_r2)
        d, g["W2"], g["b2"] = L.affine_backward(d, c_a2)
        d = P.max_pool_backward(d, c_pool)
        d = L.relu_backward(d, c_r1)
        _, g["W1"], g["b1"] = C.conv2d_backward(d, c_conv)
        for k in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * float(np.sum(p[k] * p[k]))
            g[k] = g[k] + self.reg * p[k]
        return float(loss), g
