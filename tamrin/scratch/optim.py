"""First-order optimizers with the CS231n interface ``update(w, dw, config) -> (next_w, config)``.

``config`` is a dict holding the hyper-parameters and the optimizer state (velocity, moment estimates,
step count). Pass the returned config to the next call for the same parameter; one config per
parameter array. Missing hyper-parameters get torch.optim's defaults, except plain SGD's learning rate
(1e-2) and SGD's momentum (0.9), which follow CS231n (torch: 1e-3 and 0).

The formulas are those of torch.optim (SGD, RMSprop, Adagrad, Adam, AdamW), operation for operation,
so the tests can compare every step in float64. Key: "learning_rate" (CS231n's name; "lr" is accepted
too). ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2), except in Adam with
``decoupled_weight_decay=True`` (AdamW), which shrinks the weights directly.

The input ``w`` is never modified in place.
"""

from __future__ import annotations

import math

import numpy as np

from tamrin.errors import UserError


def _lr(config, default):
    """CS231n calls it learning_rate, torch calls it lr: accept both, store learning_rate."""
    if "lr" in config and "learning_rate" not in config:
        config["learning_rate"] = config.pop("lr")
    lr = config.setdefault("learning_rate", default)
    if lr < 0:
        raise UserError(f"learning_rate must be >= 0, got {lr}")
    return lr


def _decayed_grad(w, dw, config):
    """torch's coupled weight decay: the L2 term's gradient is added to the loss gradient."""
    wd = config.setdefault("weight_decay", 0.0)
    return dw + wd * w if wd else dw


def sgd(w, dw, config=None):
    """Vanilla SGD: w <- w - lr * (dw + weight_decay * w)."""
    config = {} if config is None else config
    lr = _lr(config, 1e-2)
    return w - lr * _decayed_grad(w, dw, config), config


def sgd_momentum(w, dw, config=None):
    """SGD with (heavy-ball or Nesterov) momentum, as torch.optim.SGD:

        g = dw + weight_decay * w
        v = g                                   on the first step
        v = momentum * v + (1 - dampening) * g  afterwards
        step = g + momentum * v   (nesterov)    or   v   (classical)
        w <- w - lr * step

    CS231n writes v = mu * v - lr * dw; w += v. With a constant learning rate that is the same
    trajectory, the velocity is just scaled by -lr.
    """
    config = {} if config is None else config
    lr = _lr(config, 1e-2)
    mu = config.setdefault("momentum", 0.9)
    damp = config.setdefault("dampening", 0.0)
    nesterov = config.setdefault("nesterov", False)
    if nesterov and (mu <= 0 or damp != 0):
        raise UserError("Nesterov momentum needs momentum > 0 and dampening = 0 (as in torch)")
    g = _decayed_grad(w, dw, config)
    v = config.get("velocity")
    v = g.copy() if v is None else mu * v + (1 - damp) * g
    config["velocity"] = v
    step = g + mu * v if nesterov else v
    return w - lr * step, config


def rmsprop(w, dw, config=None):
    """RMSprop (torch.optim.RMSprop): divide the gradient by a running RMS of recent gradients.

        s = alpha * s + (1 - alpha) * g^2
        avg = sqrt(s) + eps                        (centered: sqrt(s - m^2) + eps with m the mean of g)
        w <- w - lr * g / avg                       (momentum > 0: b = momentum * b + g / avg; w -= lr * b)

    Note: CS231n's version calls alpha "decay_rate" and puts eps inside the square root's sum; we use
    torch's placement so results agree to the last bit.
    """
    config = {} if config is None else config
    lr = _lr(config, 1e-2)
    alpha = config.setdefault("alpha", config.pop("decay_rate", 0.99))
    eps = config.setdefault("epsilon", 1e-8)
    mom = config.setdefault("momentum", 0.0)
    centered = config.setdefault("centered", False)
    g = _decayed_grad(w, dw, config)
    s = alpha * config.get("cache", np.zeros_like(w)) + (1 - alpha) * g * g
    config["cache"] = s
    if centered:
        m = alpha * config.get("grad_avg", np.zeros_like(w)) + (1 - alpha) * g
        config["grad_avg"] = m
        avg = np.sqrt(s - m * m) + eps
    else:
        avg = np.sqrt(s) + eps
    if mom > 0:
        b = mom * config.get("momentum_buffer", np.zeros_like(w)) + g / avg
        config["momentum_buffer"] = b
        return w - lr * b, config
    return w - lr * g / avg, config


def adagrad(w, dw, config=None):
    """Adagrad (torch.optim.Adagrad): per-coordinate learning rates shrink with the sum of all past g^2.

        t += 1; clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2;  w <- w - clr * g / (sqrt(s) + eps)
    """
    config = {} if config is None else config
    lr = _lr(config, 1e-2)
    lr_decay = config.setdefault("lr_decay", 0.0)
    eps = config.setdefault("epsilon", 1e-10)
    init = config.setdefault("initial_accumulator_value", 0.0)
    t = config.get("t", 0) + 1
    config["t"] = t
    g = _decayed_grad(w, dw, config)
    s = config.get("cache", np.full_like(w, init)) + g * g
    config["cache"] = s
    clr = lr / (1 + (t - 1) * lr_decay)
    return w - clr * g / (np.sqrt(s) + eps), config


def adam(w, dw, config=None):
    """Adam with bias correction (torch.optim.Adam; AdamW with decoupled_weight_decay=True).

        m = beta1 * m + (1 - beta1) * g           first moment (mean of g)
        v = beta2 * v + (1 - beta2) * g^2         second moment (uncentred variance)
        w <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The bias corrections undo the pull towards the zero initialisation of m and v in early steps.
    """
    config = {} if config is None else config
    lr = _lr(config, 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    decoupled = config.setdefault("decoupled_weight_decay", False)
    t = config.get("t", 0) + 1
    config["t"] = t
    if decoupled:
        wd = config.setdefault("weight_decay", 1e-2)  # torch.optim.AdamW's default
        w = w * (1 - lr * wd)
        g = dw
    else:
        g = _decayed_grad(w, dw, config)
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * g
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * g * g
    config["m"], config["v"] = m, v
    step_size = lr / (1 - b1 ** t)
    # math.sqrt keeps a Python float: a NumPy float64 scalar would promote float32 weights to float64
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
    return w - step_size * m / denom, config


OPTIMIZERS = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adagrad": adagrad, "adam": adam}


def get_optimizer(name):
    """Look an update rule up by name (for configs and the command line)."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise UserError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
