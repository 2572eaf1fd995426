"""Pooling in tamrin.scratch vs torch (floor and ceil mode, padding) and numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from scratch_oracle import GRAD_TOL, TORCH_TOL, max_abs_rel, torch_forward_backward

from tamrin.errors import UserError
from tamrin.scratch import (
    avg_pool_backward, avg_pool_forward, check_layer, global_avg_pool_backward, global_avg_pool_forward,
    max_pool_backward, max_pool_forward,
)

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def pool_cases(draw):
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    h, w = k - 2 * p + draw(st.integers(0, 5)), k - 2 * p + draw(st.integers(0, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal((2, 2, max(h, 1), max(w, 1)))
    params = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
    return x, params, seed


@SETTINGS
@given(case=pool_cases())
def test_max_pool_matches_torch_and_numerical(case):
    x, params, seed = case
    ref, (gref,), dout = torch_forward_backward(lambda t: F.max_pool2d(t, **params), [x], seed=seed)
    out, cache = max_pool_forward(x, **params)
    assert max_abs_rel(out, ref) < TORCH_TOL
    assert max_abs_rel(max_pool_backward(dout, cache), gref) < TORCH_TOL
    assert check_layer(max_pool_forward, max_pool_backward, {"x": x}, params, seed=seed)["x"] < GRAD_TOL


@SETTINGS
@given(case=pool_cases(), include_pad=st.booleans())
def test_avg_pool_matches_torch_and_numerical(case, include_pad):
    x, params, seed = case
    params = {**params, "count_include_pad": include_pad}
    ref, (gref,), dout = torch_forward_backward(lambda t: F.avg_pool2d(t, **params), [x], seed=seed)
    out, cache = avg_pool_forward(x, **params)
    assert max_abs_rel(out, ref) < TORCH_TOL
    assert max_abs_rel(avg_pool_backward(dout, cache), gref) < TORCH_TOL
    assert check_layer(avg_pool_forward, avg_pool_backward, {"x": x}, params, seed=seed)["x"] < GRAD_TOL


def test_ceil_mode_on_a_5x5_map():
    """2x2 / stride 2 on 5x5: floor mode drops the last row and column (2x2 out), ceil mode keeps
    a partial window over them (3x3 out) — the residual-walkthrough case."""
    x = np.arange(25, dtype=float).reshape(1, 1, 5, 5)
    floor, _ = max_pool_forward(x, 2, 2, ceil_mode=False)
    ceil, _ = max_pool_forward(x, 2, 2, ceil_mode=True)
    np.testing.assert_array_equal(floor[0, 0], [[6, 8], [16, 18]])
    np.testing.assert_array_equal(ceil[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    avg, _ = avg_pool_forward(x, 2, 2, ceil_mode=True)
    assert avg[0, 0, 2, 2] == 24.0  # the 1-cell corner window is averaged over 1 cell, not 4


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = np.array([[[[1.0, 3.0], [2.0, 0.0]]]])
    out, cache = max_pool_forward(x, 2)
    np.testing.assert_array_equal(max_pool_backward(np.array([[[[5.0]]]]), cache), [[[[0, 5.0], [0, 0]]]])


def test_global_avg_pool():
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    ref, (gref,), dout = torch_forward_backward(lambda t: t.mean(dim=(2, 3)), [x])
    out, cache = global_avg_pool_forward(x)
    assert max_abs_rel(out, ref) < TORCH_TOL
    assert max_abs_rel(global_avg_pool_backward(dout, cache), gref) < TORCH_TOL
    assert check_layer(global_avg_pool_forward, global_avg_pool_backward, {"x": x})["x"] < GRAD_TOL


def test_pool_rejects_too_much_padding():
    with pytest.raises(UserError, match="padding"):
        max_pool_forward(np.zeros((1, 1, 4, 4)), 2, padding=2)
