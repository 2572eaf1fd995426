"""Batch norm and layer norm of tamrin.scratch vs torch.nn (running statistics included)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scratch_oracle import GRAD_TOL, TORCH_TOL, max_abs_rel, torch_forward_backward

from tamrin.scratch import (
    batchnorm_backward, batchnorm_backward_alt, batchnorm_forward, check_layer, layernorm_backward,
    layernorm_forward, spatial_batchnorm_backward, spatial_batchnorm_forward,
)

SETTINGS = settings(max_examples=25, deadline=None)


def _torch_bn(module, gamma, beta):
    with torch.no_grad():
        module.weight.copy_(torch.tensor(gamma))
        module.bias.copy_(torch.tensor(beta))
    return module


@SETTINGS
@given(n=st.integers(2, 8), d=st.integers(1, 5), momentum=st.floats(0.01, 0.9), seed=st.integers(0, 2**31 - 1))
def test_batchnorm_train_and_test_match_torch(n, d, momentum, seed):
    rng = np.random.default_rng(seed)
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    bn = _torch_bn(torch.nn.BatchNorm1d(d, momentum=momentum).double(), gamma, beta)
    param = {"mode": "train", "momentum": momentum}
    for step in range(3):  # several batches so the running averages really accumulate
        x = 3.0 * rng.standard_normal((n, d)) + rng.standard_normal(d)
        xt = torch.tensor(x, requires_grad=True)
        bn.train()
        ref = bn(xt)
        dout = rng.standard_normal((n, d))
        ref.backward(torch.tensor(dout))
        out, cache = batchnorm_forward(x, gamma, beta, param)
        assert max_abs_rel(out, ref.detach().numpy()) < TORCH_TOL
        np.testing.assert_allclose(param["running_mean"], bn.running_mean.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(param["running_var"], bn.running_var.numpy(), rtol=1e-12, atol=1e-12)
        for backward in (batchnorm_backward, batchnorm_backward_alt):
            dx, dgamma, dbeta = backward(dout, cache)
            assert max_abs_rel(dx, xt.grad.numpy()) < TORCH_TOL
            assert max_abs_rel(dgamma, bn.weight.grad.numpy()) < TORCH_TOL
            assert max_abs_rel(dbeta, bn.bias.grad.numpy()) < TORCH_TOL
        bn.zero_grad()
    # test mode: the running statistics, not the batch's
    bn.eval()
    param["mode"] = "test"
    x = rng.standard_normal((n, d))
    ref, (gref,), dout = torch_forward_backward(bn, [x])
    out, cache = batchnorm_forward(x, gamma, beta, param)
    assert max_abs_rel(out, ref) < TORCH_TOL
    assert max_abs_rel(batchnorm_backward(dout, cache)[0], gref) < TORCH_TOL


@SETTINGS
# n >= 3: with 2 examples train-mode batch norm maps every feature to +-1 and dL/dx is ~eps-sized
@given(n=st.integers(3, 6), d=st.integers(1, 4), mode=st.sampled_from(["train", "test"]),
       seed=st.integers(0, 2**31 - 1))
def test_batchnorm_backwards_match_numerical(n, d, mode, seed):
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, d)), "gamma": rng.standard_normal(d), "beta": rng.standard_normal(d)}
    stats = {"running_mean": rng.standard_normal(d), "running_var": rng.random(d) + 0.5}
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        errs = check_layer(batchnorm_forward, backward, arrays, {"bn_param": {"mode": mode, **stats}}, seed=seed)
        assert max(errs.values()) < GRAD_TOL, errs


def test_batchnorm_defaults_follow_torch():
    param = {}
    batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), param)
    assert param["momentum"] == 0.1 and param["eps"] == 1e-5
    # torch starts at mean 0 / var 1; a constant batch has mean 0 and variance 0
    np.testing.assert_allclose(param["running_var"], 0.9)


def test_spatial_batchnorm_matches_batchnorm2d():
    rng = np.random.default_rng(0)
    c = 3
    x, gamma, beta = rng.standard_normal((2, c, 4, 5)), rng.standard_normal(c), rng.standard_normal(c)
    bn = _torch_bn(torch.nn.BatchNorm2d(c).double(), gamma, beta)
    ref, (gref,), dout = torch_forward_backward(bn, [x])
    param = {}
    out, cache = spatial_batchnorm_forward(x, gamma, beta, param)
    assert max_abs_rel(out, ref) < TORCH_TOL
    np.testing.assert_allclose(param["running_var"], bn.running_var.numpy(), rtol=1e-12)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    assert max_abs_rel(dx, gref) < TORCH_TOL
    assert max_abs_rel(dgamma, bn.weight.grad.numpy()) < TORCH_TOL
    errs = check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward,
                       {"x": x, "gamma": gamma, "beta": beta}, {"bn_param": {}})
    assert max(errs.values()) < GRAD_TOL, errs


@SETTINGS
@given(n=st.integers(1, 4), feat=st.lists(st.integers(1, 4), min_size=1, max_size=2), seed=st.integers(0, 2**31 - 1))
def test_layernorm_matches_torch_and_numerical(n, feat, seed):
    feat = tuple(feat)
    if int(np.prod(feat)) < 3:
        # 1 feature normalises to 0 and 2 features to +-1 whatever x is: dL/dx is ~eps-sized and
        # finite differences cannot resolve it; torch agrees on those too, but we check real gradients
        feat = feat + (3,)
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, 2, *feat)), "gamma": rng.standard_normal(feat),
              "beta": rng.standard_normal(feat)}
    ref, grads, dout = torch_forward_backward(
        lambda x, g, b: torch.nn.functional.layer_norm(x, feat, g, b, 1e-5), list(arrays.values()), seed=seed)
    out, cache = layernorm_forward(**arrays)
    assert max_abs_rel(out, ref) < TORCH_TOL
    for mine, theirs in zip(layernorm_backward(dout, cache), grads):
        assert max_abs_rel(mine, theirs) < TORCH_TOL
    assert max(check_layer(layernorm_forward, layernorm_backward, arrays, seed=seed).values()) < GRAD_TOL


def test_batchnorm_train_needs_two_examples():
    from tamrin.errors import UserError

    with pytest.raises(UserError, match="at least 2"):
        batchnorm_forward(np.zeros((1, 3)), np.ones(3), np.zeros(3), {})
