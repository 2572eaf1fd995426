"""Homework 4's answers recomputed by routes written here: explicit loops for the conv gradients and the
residual block, finite differences for the gradient norms and Grad-CAM weights, a NumPy MLP for the
initialisation factors."""
from __future__ import annotations

import numpy as np
import pytest
import torch




X = np.array([[1, 2, 1, 0], [2, 1, 0, 1], [1, 0, 2, 1], [0, 1, 2, 1]], dtype=float)
W = np.array([[1, -1, 0], [0, 1, -1], [-1, 0, 1]], dtype=float)
DY = np.array([[1, -1], [-1, 1]], dtype=float)


def _conv_loops(x, w):
    """Y[i,j] = Σ_pq x[i+p, j+q] w[p,q] by loops."""
    kh, kw = w.shape
    return np.array([[sum(x[i + p, j + q] * w[p, q] for p in range(kh) for q in range(kw))
                      for j in range(x.shape[1] - kw + 1)] for i in range(x.shape[0] - kh + 1)])


def test_t2a_dw_by_loops(rec):
    r = rec("hw4.t2a")["values"]
    dw = np.zeros((3, 3))
    for i in range(2):
        for j in range(2):
            dw += DY[i, j] * X[i:i + 3, j:j + 3]  # every output adds its input window times its gradient
    assert np.array_equal(np.array(r["dL_dW"]), dw)
    # the flipped convention: Y = X ⋆ rot180(W); by the chain rule dL/dW = rot180(dL/dW')
    assert np.array_equal(np.array(r["dL_dW_flipped_convention"]), np.rot90(dw, 2))
    assert np.array_equal(np.array(r["Y"]), _conv_loops(X, W))


def test_t2b_dx_by_scatter(rec):
    r = rec("hw4.t2b")["values"]
    dx = np.zeros((4, 4))
    for i in range(2):
        for j in range(2):
            dx[i:i + 3, j:j + 3] += DY[i, j] * W  # output (i, j) sends dY[i,j]·W back onto its window
    assert np.array_equal(np.array(r["dL_dX"]), dx)
    dxf = np.zeros((4, 4))
    for i in range(2):
        for j in range(2):
            dxf[i:i + 3, j:j + 3] += DY[i, j] * np.rot90(W, 2)
    assert np.array_equal(np.array(r["dL_dX_flipped_convention"]), dxf)


def test_p1_every_matrix_by_loops(rec):
    v = rec("hw4.p1")["values"]
    x = np.array(v["input"], dtype=float)
    k = np.array(v["filter"], dtype=float)
    xp = np.zeros((7, 7))
    xp[1:6, 1:6] = x
    conv = _conv_loops(xp, k)
    relu1 = np.maximum(conv, 0)
    out = np.maximum(relu1 + x, 0)
    floor = np.array([[out[i:i + 2, j:j + 2].max() for j in (0, 2)] for i in (0, 2)])
    ceil = np.array([[out[i:i + 2, j:j + 2].max() for j in (0, 2, 4)] for i in (0, 2, 4)])  # edge windows are partial
    for key, m in (("1_conv", conv), ("2_relu", relu1), ("3_plus_skip", relu1 + x), ("4_block_output_relu", out),
                   ("5_maxpool_floor", floor), ("5_maxpool_ceil", ceil)):
        np.testing.assert_allclose(np.array(v[key]), m, atol=1e-9, err_msg=key)
    assert v["6_gap_floor"] == pytest.approx(floor.mean()) and v["6_gap_ceil"] == pytest.approx(ceil.mean())
    assert np.array(v["5_maxpool_floor"]).shape == (2, 2) and np.array(v["5_maxpool_ceil"]).shape == (3, 3)


def _loss_from_h0(m, h0, y):
    h = h0
    for b in m.blocks:
        h = b(h)
    return torch.nn.functional.cross_entropy(m.head(h.mean((2, 3))), y)


def _directional_fd(f, t: torch.Tensor, g: torch.Tensor, eps: float = 1e-4) -> float:
    """d f(t + ε u)/dε at 0 with u = g/‖g‖, by centred differences: equals ‖g‖ when g is f's gradient."""
    u = g / g.norm()
    with torch.no_grad():
        return float((f(t + eps * u) - f(t - eps * u)) / (2 * eps))


def test_t1a_gradient_norm_by_finite_differences(rec):
    from tamrin.answers.hw4.depth import _batch, _net

    v = rec("hw4.t1a")["values"]
    m = _net(5, False, 0)
    x, y = _batch(0)
    with torch.no_grad():
        h0 = torch.relu(m.stem(x))
    h = h0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(_loss_from_h0(m, h, y), h)
    fd = _directional_fd(lambda t: _loss_from_h0(m, t, y), h0, g)
    assert fd == pytest.approx(v["grad_norm_per_block"]["5"][0], rel=1e-4)
    assert v["first_over_last"] == sorted(v["first_over_last"], reverse=True)  # vanishes faster with depth


def test_t1c_first_layer_weight_gradient_by_finite_differences(rec):
    from tamrin.answers.hw4.depth import _batch, _net

    rows = rec("hw4.t1c")["values"]["rows"]
    m = _net(20, True, 0)
    x, y = _batch(0)
    w = m.blocks[0].conv.weight
    loss = lambda: torch.nn.functional.cross_entropy(m(x), y)  # noqa: E731
    (g,) = torch.autograd.grad(loss(), w)
    w0 = w.detach().clone()

    def f(t):
        with torch.no_grad():
            w.copy_(t)
        return loss()
    fd = _directional_fd(f, w0, g)
    with torch.no_grad():
        w.copy_(w0)
    got = [r[3] for r in rows if r[0] == 20 and r[1] == "residual"][0]
    assert fd == pytest.approx(got, rel=1e-4)
    plain = [r[3] for r in rows if r[1] == "plain"]
    res = [r[3] for r in rows if r[1] == "residual"]
    assert all(a > 1e3 * b for a, b in zip(res, plain))


def test_t1b_factors_match_a_numpy_relu_mlp(rec):
    """Independent route: a wide fully connected ReLU stack in NumPy gives the same per-layer factors."""
    v = rec("hw4.t1b")["values"]
    rng = np.random.default_rng(1)
    n, depth = 400, 12
    for scheme, var in (("xavier", 2 / (n + n)), ("he", 2 / n)):
        h, moments = rng.standard_normal((256, n)), []
        for _ in range(depth):
            z = h @ (rng.standard_normal((n, n)) * var ** 0.5)
            moments.append(float((z ** 2).mean()))
            h = np.maximum(z, 0)
        mlp = float(np.mean(np.array(moments[1:]) / np.array(moments[:-1])))
        assert v["per_layer_factor"][scheme] == pytest.approx(mlp, abs=0.08)
    assert v["filter_spread"]["constant"] == [0.0, 0.0] and min(v["filter_spread"]["default"]) > 1e-3
    assert max(v["weight_change"]["zero"]) == 0.0 and max(v["weight_change"]["constant"]) > 0


def test_t4a_alpha_by_entrywise_finite_differences(rec):
    from tamrin.answers.hw4.gradcam import HW, K, TARGET, _setup

    v = rec("hw4.t4a")["values"]
    m, a, _ = _setup("dense", 0)
    eps = 1e-6
    g = np.zeros((K, HW, HW))
    with torch.no_grad():
        for k in range(K):
            for i in range(HW):
                for j in range(HW):
                    e = torch.zeros_like(a)
                    e[0, k, i, j] = eps
                    g[k, i, j] = (float(m.head(a + e)[0, TARGET]) - float(m.head(a - e)[0, TARGET])) / (2 * eps)
    np.testing.assert_allclose(v["alpha_dense_head"], g.mean((1, 2)), atol=1e-6, rtol=1e-4)


def test_t4b_gap_head_change_from_the_weights(rec):
    from tamrin.answers.hw4.gradcam import HW, TARGET, _setup

    v = rec("hw4.t4b")["values"]
    m, a, _ = _setup("gap", 0)
    w = m.head[2].weight[TARGET].detach().numpy()
    raw = np.einsum("k,kij->ij", w / (HW * HW), a[0].numpy())  # α_k = w_k / HW for a GAP-linear head
    for name, mask in (("positive", raw > 0), ("negative", raw < 0)):
        assert v[f"gap_head_{name}_dy"] == pytest.approx(v["eps"] * raw[mask].sum(), rel=1e-5)
        assert v[f"gap_head_{name}_pixels"] == int(mask.sum())
    assert v["gap_head_positive_dy"] > 0 > v["gap_head_negative_dy"]


def test_phrases_follow_the_numbers():
    from tamrin.answers.hw4.depth import gain_phrase, learning_phrase

    assert "practically do not learn" in learning_phrase(1e-22, 1e-2)
    assert "more slowly" in learning_phrase(1e-3, 1e-1) and "100×" in learning_phrase(1e-3, 1e-1)
    assert "same order" in learning_phrase(0.5, 1.0)
    assert "larger" in gain_phrase(1e19) and "did not help" in gain_phrase(0.5)


def test_hw4_t3_one_distribution_per_sentence_counted_independently(tmp_path):
    """Independent of the answer's hooks: every softmax evaluated while a batch of 3 padded sentences is classified is
    counted with a TorchFunctionMode; one call, one row of 5 probabilities per sentence, each row summing to 1."""
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    from tamrin import answers
    from tamrin.experiments._rnn_models import SentenceRNN

    class Count(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.outputs = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func in (F.softmax, torch.softmax, torch.Tensor.softmax):
                self.outputs.append(out)
            return out

    torch.manual_seed(0)
    model = SentenceRNN(20, 5, kind="rnn", embed_dim=8, hidden_dim=16, dropout=0.0).eval()
    x = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [10, 11, 12, 0, 0]])  # 0 = padding
    with torch.no_grad(), Count() as c:
        probs = model.predict_proba(x)
    assert len(c.outputs) == 1 and tuple(probs.shape) == (3, 5)
    assert torch.allclose(probs.sum(1), torch.ones(3), atol=1e-6)
    rec = answers.compute("hw4.t3a", answers.Context(tmp_path))
    assert rec["values"]["softmax_calls_many_to_one"] == len(c.outputs)
    assert rec["values"]["softmax_calls_tagger"] == len(rec["values"]["sentence"].split())
