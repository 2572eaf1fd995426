"""tamrin.scratch.optim vs torch.optim, step for step in float64 (1e-10), and the no-torch rule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tamrin.errors import UserError
from tamrin.scratch import optim

# (our rule, our config, torch optimizer class, torch kwargs): the same hyper-parameters, two spellings
CASES = {
    "sgd": (optim.sgd, {"learning_rate": 0.05}, torch.optim.SGD, {"lr": 0.05}),
    "sgd+wd": (optim.sgd, {"learning_rate": 0.05, "weight_decay": 0.1}, torch.optim.SGD,
               {"lr": 0.05, "weight_decay": 0.1}),
    "momentum": (optim.sgd_momentum, {"learning_rate": 0.02, "momentum": 0.9}, torch.optim.SGD,
                 {"lr": 0.02, "momentum": 0.9}),
    "momentum+dampening+wd": (optim.sgd_momentum,
                              {"learning_rate": 0.02, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
                              torch.optim.SGD, {"lr": 0.02, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    "nesterov": (optim.sgd_momentum, {"lr": 0.02, "momentum": 0.9, "nesterov": True}, torch.optim.SGD,
                 {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    "rmsprop": (optim.rmsprop, {"learning_rate": 0.01}, torch.optim.RMSprop, {"lr": 0.01}),
    "rmsprop centered+momentum+wd": (
        optim.rmsprop, {"learning_rate": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
        torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    "adagrad": (optim.adagrad, {"learning_rate": 0.1}, torch.optim.Adagrad, {"lr": 0.1}),
    "adagrad lr_decay+wd+init": (
        optim.adagrad, {"learning_rate": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.2},
        torch.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.2}),
    "adam": (optim.adam, {"learning_rate": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    "adam betas+wd": (optim.adam, {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.05},
                      torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    "adamw": (optim.adam, {"learning_rate": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
              torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
}


def _problem(seed=0):
    """A non-quadratic loss, so gradients change in direction and size along the trajectory:
    L(w) = 0.5 ||A w - y||^2 + sum(cos(3 w)); dL/dw = A^T (A w - y) - 3 sin(3 w)."""
    rng = np.random.default_rng(seed)
    a, y, w0 = rng.standard_normal((7, 5)), rng.standard_normal(7), rng.standard_normal(5)

    def grad_np(w):
        return a.T @ (a @ w - y) - 3 * np.sin(3 * w)

    def loss_torch(w):
        return 0.5 * ((torch.tensor(a) @ w - torch.tensor(y)) ** 2).sum() + torch.cos(3 * w).sum()

    return w0, grad_np, loss_torch


@pytest.mark.parametrize("name", sorted(CASES))
def test_optimizer_matches_torch_step_for_step(name):
    rule, config, torch_cls, torch_kwargs = CASES[name]
    w0, grad_np, loss_torch = _problem()
    w, config = w0.copy(), dict(config)
    wt = torch.tensor(w0, requires_grad=True)
    opt = torch_cls([wt], **torch_kwargs)
    for step in range(20):
        opt.zero_grad()
        loss_torch(wt).backward()
        opt.step()
        w, config = rule(w, grad_np(w), config)
        err = np.max(np.abs(w - wt.detach().numpy()))
        assert err < 1e-10, f"{name}: step {step + 1} differs from torch by {err:.2e}"
    assert np.max(np.abs(w - w0)) > 1e-3  # the optimizer really moved


@pytest.mark.parametrize("name", sorted(CASES))
def test_update_does_not_modify_its_input(name):
    rule, config, _, _ = CASES[name]
    w = np.ones(4)
    rule(w, np.full(4, 0.5), dict(config))
    np.testing.assert_array_equal(w, np.ones(4))


def test_optimizer_errors():
    with pytest.raises(UserError, match="choose one of"):
        optim.get_optimizer("adamax")
    with pytest.raises(UserError, match="Nesterov"):
        optim.sgd_momentum(np.ones(2), np.ones(2), {"momentum": 0.0, "nesterov": True})
    assert optim.get_optimizer("adam") is optim.adam


def test_scratch_never_imports_torch():
    """Every module of tamrin.scratch must work without torch (torch is only the tests' oracle)."""
    code = (
        "import importlib, pkgutil, sys, tamrin.scratch as s\n"
        "for m in pkgutil.iter_modules(s.__path__):\n"
        "    importlib.import_module('tamrin.scratch.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'torch' or n.startswith('torch.'))\n"
        "assert not bad, bad[:5]\n"
        "print('ok', len(list(pkgutil.iter_modules(s.__path__))))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ok")
