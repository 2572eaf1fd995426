"""Loss functions: each returns ``(loss, dx)`` — the scalar mean loss and its gradient w.r.t. the input.

All losses average over the batch (torch's ``reduction="mean"``), so dx already includes the 1/N.
"""

from __future__ import annotations

import numpy as np

from tamrin.errors import UserError
from tamrin.scratch.layers import sigmoid


def _check_labels(x, y):
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise UserError(f"expected scores (N, C) and integer labels (N,), got {x.shape} and {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise UserError(f"labels must be in [0, {x.shape[1] - 1}], got range [{y.min()}, {y.max()}]")
    return y.astype(np.int64)


def softmax_loss(x, y):
    """Softmax cross-entropy (torch.nn.functional.cross_entropy). x: scores (N, C), y: labels (N,).

    Shifting each row by its maximum leaves the softmax unchanged and keeps exp() from overflowing;
    log-softmax is computed as shifted - log(sum(exp(shifted))) so log(0) never happens.
    dx = (softmax(x) - onehot(y)) / N.
    """
    y = _check_labels(x, y)
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1.0
    return loss, dx / n


def hinge_loss(x, y, margin=1.0):
    """Multiclass SVM (hinge) loss of CS231n: mean over examples of sum_{j != y} max(0, x_j - x_y + margin).

    torch.nn.MultiMarginLoss computes the same sum but also divides by the number of classes C.
    """
    y = _check_labels(x, y)
    n = x.shape[0]
    correct = x[np.arange(n), y][:, None]
    margins = np.maximum(0.0, x - correct + margin)
    margins[np.arange(n), y] = 0.0
    loss = margins.sum() / n
    # each violated margin pushes its class score up and the correct class score down
    active = (margins > 0).astype(x.dtype)
    active[np.arange(n), y] = -active.sum(axis=1)
    return loss, active / n


svm_loss = hinge_loss  # CS231n's name for the same loss


def bce_loss(x, y):
    """Binary cross-entropy on logits (torch.nn.functional.binary_cross_entropy_with_logits).

    Stable form: max(x, 0) - x * y + log(1 + exp(-|x|)); it equals -[y log s + (1-y) log(1-s)] with
    s = sigmoid(x) but never takes the log of 0 or the exp of a large number. y may be soft (in [0, 1]).
    dx = (sigmoid(x) - y) / x.size.
    """
    y = np.asarray(y, dtype=x.dtype)
    if y.shape != x.shape:
        raise UserError(f"bce_loss: targets shape {y.shape} must equal logits shape {x.shape}")
    loss = (np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).mean()
    return loss, (sigmoid(x) - y) / x.size


def mse_loss(x, y):
    """Mean squared error (torch.nn.functional.mse_loss): mean((x - y)^2), dx = 2 (x - y) / x.size."""
    y = np.asarray(y, dtype=x.dtype)
    if y.shape != x.shape:
        raise UserError(f"mse_loss: targets shape {y.shape} must equal predictions shape {x.shape}")
    diff = x - y
    return (diff ** 2).mean(), 2.0 * diff / x.size


def l2_regularization(weights, reg):
    """L2 penalty 0.5 * reg * sum(w^2) over one array or a list of arrays; returns (loss, grads).

    The 1/2 makes the gradient exactly reg * w, which is what torch.optim's ``weight_decay=reg`` adds
    to the gradient, so "L2 in the loss" and "weight decay in SGD" give the same update.
    grads has the same structure as ``weights`` (one array, or a list of arrays).
    """
    if isinstance(weights, np.ndarray):
        return 0.5 * reg * float(np.sum(weights * weights)), reg * weights
    loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in weights)
    return loss, [reg * w for w in weights]
