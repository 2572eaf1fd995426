"""Convolutions of tamrin.scratch: naive == fast == torch, and both backwards match numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from scratch_oracle import GRAD_TOL, TORCH_TOL, max_abs_rel, torch_forward_backward

from tamrin.errors import UserError
from tamrin.scratch import (
    check_layer, conv1d_backward, conv1d_forward, conv2d_backward, conv2d_backward_naive, conv2d_forward,
    conv2d_forward_naive, residual_block_backward, residual_block_forward,
)

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def conv_cases(draw):
    """Random conv hyper-parameters (stride, padding, dilation, groups) and an input big enough for them."""
    groups = draw(st.integers(1, 3))
    cg, fg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    # smallest input that still gives one output, plus a little more
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 4))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 4))
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, groups * cg, h, w)),
              "w": rng.standard_normal((groups * fg, cg, kh, kw)),
              "b": rng.standard_normal(groups * fg)}
    params = {"stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw), "groups": groups}
    return arrays, params, seed


def _torch_conv(params):
    return lambda x, w, b: F.conv2d(x, w, b, **params)


@SETTINGS
@given(case=conv_cases())
def test_fast_and_naive_conv_match_torch(case):
    arrays, params, seed = case
    ref, grads, dout = torch_forward_backward(_torch_conv(params), list(arrays.values()), seed=seed)
    for forward, backward in [(conv2d_forward, conv2d_backward), (conv2d_forward_naive, conv2d_backward_naive)]:
        out, cache = forward(**arrays, **params)
        assert max_abs_rel(out, ref) < TORCH_TOL
        for mine, theirs in zip(backward(dout, cache), grads):
            assert max_abs_rel(mine, theirs) < TORCH_TOL


@SETTINGS
@given(case=conv_cases())
def test_fast_conv_matches_numerical_gradient(case):
    arrays, params, seed = case
    errs = check_layer(conv2d_forward, conv2d_backward, arrays, params, seed=seed)
    assert max(errs.values()) < GRAD_TOL, errs


def test_naive_conv_matches_numerical_gradient():
    rng = np.random.default_rng(0)
    arrays = {"x": rng.standard_normal((1, 4, 5, 6)), "w": rng.standard_normal((4, 2, 3, 2)),
              "b": rng.standard_normal(4)}
    params = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    errs = check_layer(conv2d_forward_naive, conv2d_backward_naive, arrays, params)
    assert max(errs.values()) < GRAD_TOL, errs


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv(multiplier):
    """groups = C: every input channel has its own filters (MobileNet's depthwise convolution)."""
    rng = np.random.default_rng(multiplier)
    c = 3
    x, w, b = rng.standard_normal((2, c, 6, 6)), rng.standard_normal((c * multiplier, 1, 3, 3)), None
    out, cache = conv2d_forward(x, w, b, stride=2, padding=1, groups=c)
    ref, (gx, gw), dout = torch_forward_backward(lambda x, w: F.conv2d(x, w, None, 2, 1, 1, c), [x, w])
    assert max_abs_rel(out, ref) < TORCH_TOL
    dx, dw, db = conv2d_backward(dout, cache)
    assert db is None and max_abs_rel(dx, gx) < TORCH_TOL and max_abs_rel(dw, gw) < TORCH_TOL
    # channel 0 of the output only ever sees channel 0 of the input
    x2 = x.copy()
    x2[:, 1:] = 0
    np.testing.assert_allclose(conv2d_forward(x2, w, None, 2, 1, groups=c)[0][:, :multiplier], out[:, :multiplier])


def test_fast_conv_float32_close_to_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    out, cache = conv2d_forward(x, w, b, 1, 1)
    assert out.dtype == np.float32
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 1, 1).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    assert dx.dtype == dw.dtype == np.float32


@SETTINGS
@given(k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2), groups=st.integers(1, 2),
       length=st.integers(0, 5), seed=st.integers(0, 2**31 - 1))
def test_conv1d_matches_torch_and_numerical(k, s, p, d, groups, length, seed):
    rng = np.random.default_rng(seed)
    L = max(1, d * (k - 1) + 1 - 2 * p) + length
    arrays = {"x": rng.standard_normal((2, 2 * groups, L)), "w": rng.standard_normal((3 * groups, 2, k)),
              "b": rng.standard_normal(3 * groups)}
    params = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    ref, grads, dout = torch_forward_backward(lambda x, w, b: F.conv1d(x, w, b, **params), list(arrays.values()),
                                              seed=seed)
    out, cache = conv1d_forward(**arrays, **params)
    assert max_abs_rel(out, ref) < TORCH_TOL
    for mine, theirs in zip(conv1d_backward(dout, cache), grads):
        assert max_abs_rel(mine, theirs) < TORCH_TOL
    assert max(check_layer(conv1d_forward, conv1d_backward, arrays, params, seed=seed).values()) < GRAD_TOL


@pytest.mark.parametrize("k,dilation", [(3, 1), (3, 2), (1, 1)])
def test_residual_block_matches_torch_and_numerical(k, dilation):
    rng = np.random.default_rng(k + dilation)
    arrays = {"x": rng.standard_normal((2, 3, 5, 5)), "w": rng.standard_normal((3, 3, k, k)),
              "b": rng.standard_normal(3)}

    def torch_block(x, w, b):
        return torch.relu(torch.relu(F.conv2d(x, w, b, padding=dilation * (k // 2), dilation=dilation)) + x)

    ref, grads, dout = torch_forward_backward(torch_block, list(arrays.values()))
    out, cache = residual_block_forward(**arrays, dilation=dilation)
    assert out.shape == arrays["x"].shape and max_abs_rel(out, ref) < TORCH_TOL
    for mine, theirs in zip(residual_block_backward(dout, cache), grads):
        assert max_abs_rel(mine, theirs) < TORCH_TOL
    errs = check_layer(residual_block_forward, residual_block_backward, arrays, {"dilation": dilation})
    assert max(errs.values()) < GRAD_TOL, errs


def test_conv_rejects_bad_groups_and_sizes():
    with pytest.raises(UserError, match="groups"):
        conv2d_forward(np.zeros((1, 3, 4, 4)), np.zeros((4, 1, 3, 3)), groups=2)
    with pytest.raises(UserError, match="larger than"):
        conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(UserError, match="residual"):
        residual_block_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3)))


def test_fast_conv_is_the_same_when_split_into_chunks(monkeypatch):
    """The fast conv works on a few examples at a time; force one example per chunk and compare."""
    import tamrin.scratch.conv as conv

    rng = np.random.default_rng(5)
    arrays = {"x": rng.standard_normal((3, 4, 6, 5)), "w": rng.standard_normal((6, 2, 3, 3)),
              "b": rng.standard_normal(6)}
    params = {"stride": (2, 1), "padding": 1, "dilation": 1, "groups": 2}
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    assert len(conv._chunks(conv._geometry(arrays["x"], arrays["w"], **params), 8)) == 3
    ref, grads, dout = torch_forward_backward(_torch_conv(params), list(arrays.values()))
    out, cache = conv2d_forward(**arrays, **params)
    assert max_abs_rel(out, ref) < TORCH_TOL
    for mine, theirs in zip(conv2d_backward(dout, cache), grads):
        assert max_abs_rel(mine, theirs) < TORCH_TOL
