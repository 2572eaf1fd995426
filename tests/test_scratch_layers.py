"""tamrin.scratch layers and losses: numerical gradients (< 1e-7, float64) and torch autograd as oracles."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from scratch_oracle import GRAD_TOL, TORCH_TOL, max_abs_rel, torch_forward_backward

from tamrin.errors import UserError
from tamrin.scratch import (
    affine_backward, affine_forward, bce_loss, check_layer, dropout_backward, dropout_forward,
    eval_numerical_gradient, hinge_loss, l2_regularization, mse_loss, relu_backward, relu_forward,
    sigmoid_backward, sigmoid_forward, softmax_loss, tanh_backward, tanh_forward,
)

SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**31 - 1)


@SETTINGS
@given(n=st.integers(1, 4), d=st.lists(st.integers(1, 4), min_size=1, max_size=3), m=st.integers(1, 5), seed=seeds)
def test_affine_matches_numerical_and_torch(n, d, m, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, *d)), rng.standard_normal((int(np.prod(d)), m)), rng.standard_normal(m)
    errs = check_layer(affine_forward, affine_backward, {"x": x, "w": w, "b": b}, seed=seed)
    assert max(errs.values()) < GRAD_TOL, errs
    ref, grads, dout = torch_forward_backward(lambda x, w, b: x.reshape(n, -1) @ w + b, [x, w, b], seed=seed)
    out, cache = affine_forward(x, w, b)
    assert max_abs_rel(out, ref) < TORCH_TOL
    for mine, theirs in zip(affine_backward(dout, cache), grads):
        assert max_abs_rel(mine, theirs) < TORCH_TOL


ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, torch.relu),
    "sigmoid": (sigmoid_forward, sigmoid_backward, torch.sigmoid),
    "tanh": (tanh_forward, tanh_backward, torch.tanh),
}


@SETTINGS
@given(name=st.sampled_from(sorted(ACTIVATIONS)), shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       scale=st.floats(0.1, 5.0), seed=seeds)
def test_activations_match_numerical_and_torch(name, shape, scale, seed):
    fwd, bwd, ref_fn = ACTIVATIONS[name]
    x = scale * np.random.default_rng(seed).standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU's kink out of the finite-difference window
    assert check_layer(fwd, bwd, {"x": x}, seed=seed)["x"] < GRAD_TOL
    ref, (gref,), dout = torch_forward_backward(ref_fn, [x], seed=seed)
    out, cache = fwd(x)
    assert max_abs_rel(out, ref) < TORCH_TOL
    assert max_abs_rel(bwd(dout, cache), gref) < TORCH_TOL


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        out, _ = sigmoid_forward(x)
    np.testing.assert_allclose(out, torch.sigmoid(torch.tensor(x)).numpy(), rtol=0, atol=1e-15)


# ---------------------------------------------------------------- dropout (p = DROP probability)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.8])
def test_dropout_keeps_expectation_and_drops_fraction_p(p):
    x = np.full((400, 500), 2.0)
    out, _ = dropout_forward(x, p, "train", seed=1)
    dropped = np.mean(out == 0)
    n = x.size
    # binomial standard deviation of the dropped fraction; allow 5 sigma
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    assert abs(out.mean() - 2.0) < 5 * 2.0 * np.sqrt(p / ((1 - p) * n)) + 1e-12  # inverted scaling keeps E[out]
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 2.0 / (1 - p))


def test_dropout_test_mode_is_identity_and_seed_is_reproducible():
    x = np.random.default_rng(0).standard_normal((5, 6))
    out, cache = dropout_forward(x, 0.5, "test")
    assert out is x and dropout_backward(x, cache) is x
    a, _ = dropout_forward(x, 0.5, "train", seed=3)
    b, _ = dropout_forward(x, 0.5, "train", seed=3)
    np.testing.assert_array_equal(a, b)


def test_dropout_gradient_uses_the_same_mask():
    x = np.random.default_rng(1).standard_normal((6, 7))
    errs = check_layer(dropout_forward, dropout_backward, {"x": x}, {"p": 0.4, "mode": "train", "seed": 7})
    assert errs["x"] < GRAD_TOL
    out, cache = dropout_forward(x, 0.4, "train", seed=7)
    dx = dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx == 0, out == 0)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(UserError, match="drop probability"):
        dropout_forward(np.ones(3), p)


# ---------------------------------------------------------------- losses


@SETTINGS
@given(n=st.integers(1, 6), c=st.integers(2, 6), scale=st.floats(0.1, 10.0), seed=seeds)
def test_classification_losses_match_torch_and_numerical(n, c, scale, seed):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    yt = torch.tensor(y)
    # torch's MultiMarginLoss divides the CS231n hinge sum by the number of classes
    cases = [(softmax_loss, lambda t: F.cross_entropy(t, yt)),
             (hinge_loss, lambda t: c * F.multi_margin_loss(t, yt))]
    for ours, theirs in cases:
        loss, dx = ours(x, y)
        ref, (gref,), _ = torch_forward_backward(theirs, [x], dout=np.array(1.0))
        assert abs(loss - float(ref)) < TORCH_TOL * max(1.0, abs(float(ref)))
        assert max_abs_rel(dx, gref) < TORCH_TOL
        # finite differences on unit-scale scores: with large scores the softmax saturates, the whole
        # gradient is ~1e-6 and the round-off of log(1 + tiny) (~1e-16 / h) dominates the check
        xs = x / scale
        loss, dx = ours(xs, y)
        num = eval_numerical_gradient(lambda z: ours(z, y)[0], xs.copy())
        if np.abs(num).max() > 0 or np.abs(dx).max() > 0:
            assert np.linalg.norm(dx - num) / (np.linalg.norm(dx) + np.linalg.norm(num)) < GRAD_TOL


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), scale=st.floats(0.1, 20.0), seed=seeds)
def test_regression_losses_match_torch_and_numerical(shape, scale, seed):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape)
    cases = [(bce_loss, rng.random(shape), F.binary_cross_entropy_with_logits),
             (mse_loss, rng.standard_normal(shape), F.mse_loss)]
    for ours, y, theirs in cases:
        loss, dx = ours(x, y)
        ref, (gref,), _ = torch_forward_backward(lambda t: theirs(t, torch.tensor(y)), [x], dout=np.array(1.0))
        assert abs(loss - float(ref)) < TORCH_TOL * max(1.0, abs(float(ref)))
        assert max_abs_rel(dx, gref) < TORCH_TOL
        num = eval_numerical_gradient(lambda z: ours(z, y)[0], x.copy())
        assert np.linalg.norm(dx - num) / (np.linalg.norm(dx) + np.linalg.norm(num)) < GRAD_TOL


def test_bce_is_stable_for_huge_logits():
    x = np.array([[-800.0, 800.0, 0.0]])
    y = np.array([[1.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dx = bce_loss(x, y)
    assert np.isclose(loss, (800 + 800 + np.log(2)) / 3)
    np.testing.assert_allclose(dx, [[-1 / 3, 1 / 3, -1 / 6]])


def test_softmax_loss_rejects_bad_labels():
    with pytest.raises(UserError, match="labels"):
        softmax_loss(np.zeros((2, 3)), np.array([0, 3]))


def test_l2_regularization_gradient_and_structure():
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    loss, grads = l2_regularization(ws, 0.3)
    assert np.isclose(loss, 0.15 * sum(np.sum(w ** 2) for w in ws))
    for w, g in zip(ws, grads):
        num = eval_numerical_gradient(lambda z: l2_regularization(z, 0.3)[0], w.copy())
        np.testing.assert_allclose(g, num, rtol=1e-8, atol=1e-10)
    single_loss, single_grad = l2_regularization(ws[0], 0.3)
    np.testing.assert_allclose(single_grad, 0.3 * ws[0])


# ---------------------------------------------------------------- the gradient checker itself


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    num = eval_numerical_gradient(lambda z: np.sum(z ** 3), x.copy())
    np.testing.assert_allclose(num, 3 * x ** 2, rtol=1e-8)  # truncation error h^2 f''' / 6 = 1e-10


def test_check_layer_catches_a_wrong_backward():
    x = np.random.default_rng(0).standard_normal((3, 4))

    def wrong_backward(dout, cache):  # forgets the (1 - tanh^2) factor
        return dout

    assert check_layer(tanh_forward, tanh_backward, {"x": x})["x"] < GRAD_TOL
    assert check_layer(tanh_forward, wrong_backward, {"x": x})["x"] > 1e-2
