"""Solution set A's answer key, checked by routes written here (enumeration, torch autograd, quadrature, sympy, torch
hooks), never by copying an expected number; for every claim the key judges wrong, the solution's own formula or number
is shown to disagree with the independent computation."""
from __future__ import annotations

import functools
import itertools
import tempfile

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin import answers, course


@functools.lru_cache(maxsize=None)
def rec(qid: str) -> dict:
    return answers.compute(qid, answers.Context(tempfile.mkdtemp()))


def subclaim_status(r: dict) -> list[str]:
    return [row[1] for row in r["tables"][0]["rows"]]


def test_every_solA_id_is_answered_with_claim_and_verdict():
    ids = [q.id for q in course.questions("solA")]
    assert len(ids) == 28 and set(ids) <= set(answers.registered())
    for qid in ids:
        r = rec(qid)
        assert r["claim"] and r["verdict"] in answers.VERDICTS and all(c["passed"] for c in r["checks"]), qid


# ---- q1: dropout as ridge ------------------------------------------------------------------------------------------


def _enumerate(x, p, f):
    """E_D f(D ⊙ X) over every keep mask D ~ Bernoulli(p)."""
    total = 0
    for bits in itertools.product((0, 1), repeat=x.size):
        m = np.array(bits, dtype=float).reshape(x.shape)
        total = total + p ** m.sum() * (1 - p) ** (m.size - m.sum()) * f(m * x)
    return total


def test_q1a_expectations_by_enumeration():
    p, x = 0.7, np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]])
    ep = _enumerate(x, p, lambda P: P)
    eptp = _enumerate(x, p, lambda P: P.T @ P)
    g = x.T @ x
    solution = np.where(np.eye(2, dtype=bool), p * g, p * p * g)  # the solution's case formula
    assert np.allclose(ep, p * x) and np.allclose(eptp, solution)
    r = rec("solA.q1a")
    assert r["verdict"] == "correct"
    mc, cf = np.array(r["values"]["E_PtP_monte_carlo"]), np.array(r["values"]["E_PtP_closed_form"])
    assert np.allclose(mc, cf, rtol=0.05, atol=0.05)


def test_q1b_expected_loss_by_enumeration_and_the_sign_slip():
    p, rng = 0.6, np.random.default_rng(5)
    x, y, w = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2)
    exact = _enumerate(x, p, lambda P: float(np.sum((y - P @ w) ** 2)))
    base = float(np.sum((y - p * x @ w) ** 2))
    pen = float(np.sum((x ** 2).sum(0) * w ** 2))
    assert exact == pytest.approx(base + p * (1 - p) * pen, rel=1e-12)  # the solution's final identity
    assert abs(exact - (base + (p * p - p) * pen)) > 1e-3  # its intermediate (p² − p) line
    r = rec("solA.q1b")
    assert r["verdict"] == "correct"
    v = r["values"]
    assert v["exact_expectation"] == pytest.approx(v["closed_form"], rel=1e-10)
    assert abs(v["monte_carlo"] - v["closed_form"]) < 5 * v["monte_carlo_se"]


def test_q1c_q1d_ridge_by_numerical_minimisation():
    p, rng = 0.7, np.random.default_rng(3)
    x, y = rng.normal(size=(12, 3)) + 1, rng.normal(size=12)
    g = np.sqrt((1 - p) / p) * np.linalg.norm(x, axis=0)  # the solution's Γ

    def dropout_loss(w_hat):  # E‖y − (D ⊙ X)ŵ‖² (its closed form was checked by enumeration above)
        return np.sum((y - p * x @ w_hat) ** 2) + p * (1 - p) * np.sum((x ** 2).sum(0) * w_hat ** 2)

    w_hat = np.zeros(3)  # gradient descent on the dropout loss, no closed form used
    for _ in range(20000):
        grad = -2 * p * x.T @ (y - p * x @ w_hat) + 2 * p * (1 - p) * (x ** 2).sum(0) * w_hat
        w_hat -= 0.002 * grad
    xt = x / g  # X̃ = XΓ⁻¹; standard ridge on it by augmented least squares
    w_t = np.linalg.lstsq(np.vstack([xt, np.eye(3)]), np.concatenate([y, np.zeros(3)]), rcond=None)[0]
    assert np.allclose(xt @ w_t, p * x @ w_hat, atol=1e-6)  # same predictions (w = pŵ, w̃ = Γw)
    assert dropout_loss(w_hat) <= dropout_loss(w_hat + 1e-3)
    assert rec("solA.q1c")["verdict"] == "correct" and rec("solA.q1d")["verdict"] == "correct"


def test_q1e_column_norms():
    r = rec("solA.q1e")
    p = r["values"]["p"]
    assert np.allclose(r["values"]["column_norms_of_X_tilde"], np.sqrt(p / (1 - p)))
    # the norms are equal but the variances of uncentred columns are not: "same variance" is refuted
    var = np.array(r["values"]["column_variances"])
    assert np.ptp(var) > 0.01 * var.max() and subclaim_status(r) == ["confirmed", "refuted"] and r["verdict"] == "partly"


def test_q1f_gradient_by_autograd_monte_carlo():
    r = rec("solA.q1f")
    v = r["values"]
    x, w, y, alpha = (torch.tensor(v[k], dtype=torch.float64) for k in ("x", "w", "y", "alpha"))
    g = torch.Generator().manual_seed(11)
    eps = torch.randn(100000, len(x), generator=g, dtype=torch.float64)
    wt = w.clone().requires_grad_(True)
    delta = torch.sqrt(alpha) * wt * eps  # δ_k ~ N(0, α w_k²): the noise scale depends on w
    j = 0.5 * (y - ((wt + delta) * x).sum(1)) ** 2
    (grad,) = torch.autograd.grad(j.mean(), wt)
    assert np.allclose(grad.numpy(), v["correct"], atol=0.05)
    solution = (-(y - w @ x) * x).numpy()
    assert np.allclose(v["claimed"], solution)
    assert np.abs(solution - grad.numpy()).max() > 0.2  # misses α w_i x_i²
    assert r["verdict"] == "wrong"


def test_q1g_expected_loss_by_gauss_hermite_quadrature():
    r = rec("solA.q1g")
    x, w, y, alpha = np.array([0.8, -1.5, 2.0, 0.3]), np.array([1.2, 0.4, -0.7, 2.0]), 1.5, r["values"]["alpha"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(3)  # exact for the quadratic integrand, per axis
    total = 0.0
    for idx in itertools.product(range(3), repeat=4):
        e = nodes[list(idx)]
        total += np.prod(weights[list(idx)]) * 0.5 * (y - ((w + np.sqrt(alpha) * w * e) * x).sum()) ** 2
    total /= np.sqrt(2 * np.pi) ** 4
    assert r["values"]["expected_loss"] == pytest.approx(total, rel=1e-10)
    assert abs(r["values"]["claimed"] - total) > 0.5 and r["verdict"] == "partly"


# ---- q2, q3 ------------------------------------------------------------------------------------------------------------


def test_q2_against_torch_conv1d():
    r = rec("solA.q2")
    g = torch.Generator().manual_seed(2)
    x, w = torch.randn(1, 1, 9, generator=g, requires_grad=True), torch.randn(1, 1, 3, generator=g, requires_grad=True)
    up = torch.randn(1, 1, 7, generator=g)
    (F.conv1d(x, w) * up).sum().backward()  # torch's conv1d is Z_i = Σ_j W_j X_(i+j)
    solution = [sum(up[0, 0, i] * x[0, 0, i + j] for i in range(7)) for j in range(3)]
    assert np.allclose(torch.stack(solution).detach(), w.grad[0, 0], atol=1e-6)
    assert np.allclose(r["values"]["claimed_dW"], r["values"]["autograd_dW"]) and r["verdict"] == "correct"


def test_q3a_solution_dx_disagrees_with_finite_differences():
    rng = np.random.default_rng(4)
    x, gamma, dout, eps = rng.normal(size=(6, 2)), rng.normal(size=2), rng.normal(size=(6, 2)), 1e-5

    def loss(xx):
        xh = (xx - xx.mean(0)) / np.sqrt(xx.var(0) + eps)
        return float(np.sum(dout * gamma * xh))

    fd = np.zeros_like(x)
    for i, j in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i, j] = 1e-6
        fd[i, j] = (loss(x + e) - loss(x - e)) / 2e-6
    solution = dout * gamma / np.sqrt(x.var(0) + eps)
    assert np.abs(solution - fd).max() > 0.1
    r = rec("solA.q3a")
    assert subclaim_status(r) == ["refuted", "confirmed", "confirmed"] and r["verdict"] == "partly"


def test_q3_measurements_are_consistent():
    b, d = rec("solA.q3b")["values"], rec("solA.q3d")["values"]
    assert b["late_loss_bn"] < b["late_loss_plain"]  # the statement's branch matches the numbers
    assert d["accuracy_eval_single_class_training"] < d["accuracy_eval_shuffled_training"]
    assert rec("solA.q3c")["values"]["absorb_error"] < 1e-5


# ---- q4 ------------------------------------------------------------------------------------------------------------------


def test_q4a_bias_before_bn_is_redundant():
    torch.manual_seed(0)
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    conv, bn = nn.Conv2d(2, 3, 3).double(), nn.BatchNorm2d(3).double()
    with torch.no_grad():
        a = bn(conv(x))
        conv.bias.add_(100.0)
        assert (bn(conv(x)) - a).abs().max() < 1e-9
    r = rec("solA.q4a")
    assert r["verdict"] == "wrong" and r["values"]["max_output_change"] < 1e-9


def test_q4b_scaling_invariance_in_training_mode():
    torch.manual_seed(1)
    x = torch.randn(16, 3, 5, 5, dtype=torch.float64)
    conv, bn = nn.Conv2d(3, 4, 3, bias=False).double(), nn.BatchNorm2d(4, eps=1e-12).double()
    with torch.no_grad():
        base = bn(conv(x))
        assert (bn(conv(2.5 * x)) - base).abs().max() < 1e-8  # inputs × α
        conv.weight.mul_(2.5)
        assert (bn(conv(x)) - base).abs().max() < 1e-8  # weights × α
    r = rec("solA.q4b")
    assert r["values"]["rel_change_inputs_batch_stats"] < 1e-3 and subclaim_status(r)[1] == "refuted"


def test_interpreting_sentences_follow_their_numbers():
    e = rec("solA.q4e")
    assert ("does not make" in e["answer"]) == (e["values"]["shift_correlation_pooled"] <= e["values"]["shift_correlation_conv"])
    h = rec("solA.q1h")
    assert ("the reason spatial dropout suits conv maps" in h["answer"]) == (h["values"]["neighbour_pixel_correlation"] > 0.5)
    a = rec("solA.q4a")
    assert ("therefore harmless" in a["answer"]) == (a["values"]["max_output_change"] < 1e-9)


def test_q4c_operation_counts_by_loops():
    v = rec("solA.q4c")["values"]
    k, c, W, H, B = v["k"], v["c"], v["W"], v["H"], v["B"]
    mults = cmps = 0
    for _ in range(W * H):  # one output position at a time
        mults += k * k * c  # window · filter
        cmps += c * (k * k - 1)  # a running max over k² values per channel
    assert v["conv_multiplications"] == B * mults and v["maxpool_comparisons"] == B * cmps
    assert v["claimed_pool"] != v["maxpool_comparisons"]


def test_q4f_receptive_field_by_brute_force():
    net = nn.Sequential(nn.Conv2d(1, 1, 3, 2), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3, 2), nn.AvgPool2d(2)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    x = torch.zeros(1, 1, 80, 80, dtype=torch.float64, requires_grad=True)
    y = net(x)
    y[0, 0, 2, 2].backward()
    cols = (x.grad[0, 0].abs().sum(0) > 0).nonzero().flatten()
    support = int(cols.max() - cols.min() + 1)
    r = rec("solA.q4f")
    assert r["values"]["receptive_field"] == support
    assert r["values"]["claimed"] != support and r["verdict"] == "wrong"


# ---- q5 ------------------------------------------------------------------------------------------------------------------


def _hook_counts(layers):
    counts = []
    x = torch.zeros(1, 3, 512, 512)
    with torch.no_grad():
        for m in layers:
            x = m(x)
            counts.append((list(x.shape[1:]), m.weight.numel(), x.numel() * (m.weight.shape[1] * m.kernel_size[0] * m.kernel_size[1])))
    return counts


def test_q5_shapes_params_mults_by_torch():
    a, b, cin = [], [], 3
    for c in (64, 128, 256):
        a += [nn.Conv2d(cin, cin, 4, 2, 1, groups=cin, bias=False), nn.Conv2d(cin, c, 1, bias=False)]
        b.append(nn.Conv2d(cin, c, 4, 2, 1, bias=False))
        cin = c
    ca, cb = _hook_counts(a), _hook_counts(b)
    va, vb, vc = rec("solA.q5a")["values"], rec("solA.q5b")["values"], rec("solA.q5c")["values"]
    assert [[s[1], s[2], s[0]] for s, _, _ in ca] == va["shapes_A"] and [[s[1], s[2], s[0]] for s, _, _ in cb] == va["shapes_B"]
    assert [w for _, w, _ in ca] == vb["weights_A"] and [w for _, w, _ in cb] == vb["weights_B"]
    assert sum(m for *_, m in ca) == vc["total_A"] and sum(m for *_, m in cb) == vc["total_B"]
    for q in ("solA.q5a", "solA.q5b", "solA.q5c"):
        assert rec(q)["verdict"] == "correct"
    # q5d: the solution says A has more parameters and B fewer multiplications; torch says the opposite
    assert sum(w for _, w, _ in ca) < sum(w for _, w, _ in cb) and sum(m for *_, m in ca) < sum(m for *_, m in cb)
    assert rec("solA.q5d")["verdict"] == "wrong"


def test_q5e_ratio_with_sympy():
    import sympy as sp

    dk, m, n, df = sp.symbols("D_k M N D_F", positive=True)
    solution = (dk ** 2 * m * df ** 2 + n * m * df ** 2) / (n * dk ** 2 * m * df ** 2)
    assert sp.simplify(sp.expand(solution) - 1 / n - 1 / dk ** 2) == 0
    r = rec("solA.q5e")
    assert np.allclose(r["values"]["ratios_measured"], [1 / c + 1 / 16 for c in (64, 128, 256)]) and r["verdict"] == "correct"


def test_q5f_resolution_does_not_change_parameters():
    layer = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.Conv2d(32, 64, 1, bias=False))
    n = sum(p.numel() for p in layer.parameters())
    for side in (28, 56):  # the same module runs at either resolution
        assert layer(torch.zeros(1, 32, side, side)).shape[-1] == side
    v = rec("solA.q5f")["values"]
    assert v["weights_width"] == v["weights_width_resolution"] == n
    assert subclaim_status(rec("solA.q5f")) == ["confirmed", "confirmed", "refuted"]


# ---- q6 ------------------------------------------------------------------------------------------------------------------


def test_q6b_centre_gradient_is_not_the_normalised_update():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1, 1, 0])
    c = torch.randn(2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    (0.5 * ((x - c[y]) ** 2).sum()).backward()
    manual = torch.stack([(c[j] - x[y == j]).sum(0) for j in range(2)]).detach()
    counts = torch.bincount(y).double()[:, None]
    assert torch.allclose(c.grad, manual)
    assert (c.grad - manual / counts).abs().max() > 0.1  # the solution's ∂L/∂C_j = ΔC_j (ε → 0)
    r = rec("solA.q6b")
    assert subclaim_status(r)[4] == "refuted" and r["verdict"] == "partly"


def test_q6c_simplex_meets_the_distance_bound():
    v = rec("solA.q6c")["values"]
    k = v["k"]
    # Σ_{i<j}‖c_i − c_j‖² = k² − ‖Σc_i‖² ≤ k², so the smallest of the k(k − 1)/2 distances is ≤ √(2k/(k − 1))
    bound = np.sqrt(k * k / (k * (k - 1) / 2))
    assert v["min_distance"] == pytest.approx(bound, rel=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = rng.normal(size=(k, v["d"]))
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        d = np.linalg.norm(c[:, None] - c[None], axis=2)[np.triu_indices(k, 1)]
        assert d.min() <= bound + 1e-12
