"""Solution set B's answer key: each value is recomputed here by an independent route (torch written out in the
test, brute-force enumeration, sympy-free hand loops), the solution's wrong numbers/formulas are shown to disagree
with that route, and the sentences' branches follow the numbers (fake measurements flip them)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from tamrin import answers
from tamrin.answers import Context


def rec(qid, tmp_path):
    return answers.compute(qid, Context(tmp_path))


# --- q3a: the 1D CNN ---------------------------------------------------------------------------------
def _conv1d_walk(pools: int) -> tuple[int, int, int]:
    """By hand: valid conv shortens by k − 1, MaxPool 2 floors the half. Returns (steps, channels, Dense-128 params)."""
    L, c = 500, 7
    for i, (k, f) in enumerate([(3, 16), (5, 32), (5, 64)]):
        L, c = L - k + 1, f
        if i < 2 or pools == 3:
            L //= 2
    return L, c, (L * c + 1) * 128


def test_q3a_flatten_and_dense_by_hand_and_the_solution_is_the_three_pool_variant(tmp_path):
    r = rec("solB.q3a", tmp_path)
    L, c, dense = _conv1d_walk(pools=2)
    assert r["values"]["flatten"] == L * c and r["values"]["dense128_params"] == dense
    net = nn.Sequential(nn.Conv1d(7, 16, 3), nn.MaxPool1d(2), nn.Conv1d(16, 32, 5), nn.MaxPool1d(2), nn.Conv1d(32, 64, 5),
                        nn.Flatten())
    assert net(torch.zeros(1, 7, 500)).shape[1] == L * c
    # the solution's numbers: wrong for the network as asked, exactly those of a third pooling layer
    sol_flat, sol_dense = 3776, 483456
    assert (sol_flat, sol_dense) != (L * c, dense)
    L3, c3, dense3 = _conv1d_walk(pools=3)
    assert (sol_flat, sol_dense) == (L3 * c3, dense3) == (r["values"]["flatten_with_third_pool"], r["values"]["dense128_params_with_third_pool"])
    assert r["values"]["solution_matches_third_pool_variant"] is True
    assert r["verdict"] == "partly"
    total = sum(p.numel() for p in nn.Sequential(nn.Conv1d(7, 16, 3), nn.Conv1d(16, 32, 5), nn.Conv1d(32, 64, 5),
                                                 nn.Linear(L * c, 128), nn.Linear(128, 5)).parameters())
    assert r["values"]["total_params"] == total


# --- q2: conv + GAP gradients ----------------------------------------------------------------------------
def test_q2_worked_example_by_autograd_and_the_dx22_slip(tmp_path):
    from tamrin.answers.solB import _conv

    r = rec("solB.q2", tmp_path)
    X = torch.tensor(_conv.X_READ, dtype=torch.float64, requires_grad=True)
    F = torch.tensor(_conv.F_READ, dtype=torch.float64, requires_grad=True)
    # the convolution written as four sums (no conv2d call)
    O = torch.stack([torch.stack([(X[i:i + 2, j:j + 2] * F).sum() for j in range(2)]) for i in range(2)])
    O.mean().backward()
    assert np.allclose(r["values"]["dL_dF"], F.grad.numpy()) and np.allclose(r["values"]["dL_dX"], X.grad.numpy())
    assert np.allclose(r["values"]["dL_dO"], 0.25)
    # the solution's formula for dL/dX22 as transcribed: wrong for a general upstream gradient, right for GAP's 1/4
    rng = np.random.default_rng(1)
    f, g = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    x = torch.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    o = torch.stack([torch.stack([(x[i:i + 2, j:j + 2] * torch.tensor(f)).sum() for j in range(2)]) for i in range(2)])
    (o * torch.tensor(g)).sum().backward()
    sol_x22 = g[0, 0] * f[1, 1] + g[1, 1] * f[1, 0] + g[1, 0] * f[0, 1] + g[1, 1] * f[0, 0]
    assert abs(sol_x22 - float(x.grad[1, 1])) > 1e-6
    assert math.isclose(0.25 * (f[1, 1] + f[1, 0] + f[0, 1] + f[0, 0]), float(_gap_dx(f)[1, 1]))
    assert r["values"]["solution_formulas_dF_correct"] == 4 and r["values"]["solution_formulas_dX_correct"] == 8
    assert r["verdict"] == "partly"


def _gap_dx(f):
    x = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(x, torch.tensor(f)[None, None]).mean().backward()
    return x.grad[0, 0].numpy()


# --- q1: optimisers ---------------------------------------------------------------------------------------
def test_q1d_the_solutions_batch_formula_is_per_sample_sgd(tmp_path):
    r = rec("solB.q1d", tmp_path)
    # independently, with torch: one pass of "for n: w -= lr dE_n/dw" vs one batch step, on a small random problem
    g = torch.Generator().manual_seed(0)
    xs, ys = torch.randn(20, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (20,), generator=g)

    def grad(w, xb, yb):
        w = w.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(xb @ w, yb).backward()
        return w.grad

    w = torch.zeros(5, 3, dtype=torch.float64)
    for i in range(20):
        w = w - 0.5 * grad(w, xs[i:i + 1], ys[i:i + 1])
    w_batch = -0.5 * grad(torch.zeros(5, 3, dtype=torch.float64), xs, ys)
    assert float((w - w_batch).abs().max()) > 1e-3
    assert r["values"]["formula_vs_batch_max_abs_diff"] > 1e-3
    u = r["values"]["updates"]
    assert u["batch"] == 3 and u["SGD"] == 3 * 1000 and u["mini-batch"] == 3 * math.ceil(1000 / 32)
    rough = r["values"]["roughness"]
    assert rough["batch"] < rough["mini-batch"] < rough["SGD"]
    assert r["verdict"] == "partly"


def test_q1c_adam_escape_steps_by_torch_on_both_saddles(tmp_path):
    r = rec("solB.q1c", tmp_path)
    from tamrin.answers.solB._optim import SADDLE, STARTS

    def escape(f, start):
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=SADDLE["lr"])
        for t in range(1, SADDLE["steps"] + 1):
            opt.zero_grad()
            f(p).backward()
            opt.step()
            if float(p.detach().norm()) > SADDLE["radius"]:
                return t
        return None

    fs = {"x² − y²": lambda p: p[0] ** 2 - p[1] ** 2, "monkey x³ − 3xy²": lambda p: p[0] ** 3 - 3 * p[0] * p[1] ** 2}
    for surf, f in fs.items():
        assert r["values"]["escape_steps"][f"{surf} / Adam"] == escape(f, STARTS[surf])
    # exactly on the attracting direction Adam (deterministic) converges into the saddle: the solution's contrast fails
    assert escape(fs["x² − y²"], (0.5, 0.0)) is None and r["values"]["on_manifold"]["Adam"]["escape"] is None
    assert r["values"]["on_manifold"]["SGD (noisy)"]["escape"] is not None
    assert sorted(r["values"]["hessian_eigenvalues"]) == pytest.approx([-2.0, 2.0], abs=1e-4)


def _fake_sweep(fast_high: bool):
    from tamrin.answers.solB import _lr

    cfg = _lr.SweepConfig(rates=(0.01, 0.1, 1.0, 10.0), steps=40, every=10)
    good = _lr.Curve(0.1, [0, 10, 20, 30, 40], [2.3, 1.5, 1.0, 0.7, 0.5], val=0.6, train_acc=0.8, val_acc=0.75)
    early = 0.8 if fast_high else 1.9  # the good curve is at 1.0 after 20 updates
    high = _lr.Curve(1.0, [0, 10, 20, 30, 40], [2.3, 1.0, early, 1.1, 1.3], val=1.4)
    low = _lr.Curve(0.01, [0, 10, 20, 30, 40], [2.3, 2.28, 2.26, 2.24, 2.22], val=2.2)
    wild = _lr.Curve(10.0, [0, 10], [2.3, math.inf], diverged_at=10)
    return {"curves": [low, good, high, wild], "good": good, "low": low, "high": high, "wild": wild, "diverged": wild,
            "n_train": 100, "n_val": 25, "source": "fake", "cfg": cfg, "seed": 0}


@pytest.mark.parametrize("fast", [True, False])
def test_q1a_sentences_follow_the_measurement(fast, tmp_path, monkeypatch):
    from tamrin.answers.solB import _lr, _optim

    fake = _fake_sweep(fast)
    monkeypatch.setattr(_lr, "sweep", lambda seed=0, cfg=None: fake)
    a = _optim.lr_too_high(Context(tmp_path))
    k = 2 * fake["cfg"].every
    assert a.values["early_loss_high"] == _lr.loss_at(fake["high"], k)
    assert ("is faster early on" in a.answer) == (a.values["early_loss_high"] < a.values["early_loss_best"]) == fast
    assert ("half right" in a.answer) == (not fast)
    rows = {r[0]: r[1] for r in a.tables[0][1]}
    assert rows["a high rate converges very quickly (the green curve reaches its optimum fast)"] == ("confirmed" if fast else "refuted")
    # the rises: the high curve went up at 2 of its 4 evaluations
    assert a.values["rises_high"] == pytest.approx(np.mean(np.diff(fake["high"].train) > 0))


def test_q1b_low_rate_progress_recomputed_from_the_curves(tmp_path, monkeypatch):
    from tamrin.answers.solB import _lr, _optim

    fake = _fake_sweep(False)
    monkeypatch.setattr(_lr, "sweep", lambda seed=0, cfg=None: fake)
    a = _optim.lr_too_low(Context(tmp_path))
    low, good = fake["low"].train, fake["good"].train
    assert a.values["fraction_of_progress"] == pytest.approx((low[0] - low[-1]) / (good[0] - good[-1]))
    assert "not stuck" in a.answer  # the fake low curve falls at every evaluation
    assert a.verdict == "partly"


# --- q4–q7 -----------------------------------------------------------------------------------------------
def test_q4_parameter_count_of_a_hand_written_model(tmp_path):
    r = rec("solB.q4", tmp_path)
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(64), nn.ReLU(), nn.Linear(64, 10))
    m(torch.zeros(1, 3, 32, 32))
    assert r["values"]["params"] == sum(p.numel() for p in m.parameters())
    assert r["values"]["output_max_abs_diff"] == 0.0 and r["values"]["losses_sequential"] == r["values"]["losses_functional"]
    assert r["verdict"] == "correct"


def test_q5_conv_vs_dense_counts(tmp_path):
    r = rec("solB.q5", tmp_path)
    n = 64 * 32 * 32
    assert r["values"]["dense_params"] == n * n + n
    conv = nn.Conv2d(64, 64, 3, padding=1)
    out = conv(torch.zeros(1, 64, 32, 32))
    assert r["values"]["conv_params"] == sum(p.numel() for p in conv.parameters())
    assert r["values"]["conv_macs"] == out.numel() * conv.weight[0].numel()  # each output value: one dot product
    assert r["verdict"] == "partly"


def _macs(layers, x) -> int:
    """Multiply-adds by running the layers: each output value of a conv is one dot product of a filter's size."""
    total = 0
    for m in layers:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            total += x.numel() * m.weight[0].numel()
    return total


def test_q6_bottleneck_saving_measured_by_running_convs_and_the_black_image(tmp_path):
    r = rec("solB.q6", tmp_path)
    x = torch.zeros(1, 192, 28, 28)
    with torch.no_grad():
        direct = _macs([nn.Conv2d(192, 32, 5, padding=2)], x)
        reduced = _macs([nn.Conv2d(192, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 5, padding=2)], x)
    assert r["values"]["bottleneck_macs"] == [direct, reduced]
    assert r["values"]["saving_macs"] == pytest.approx(direct / reduced)
    # the solution's code: random floats in [0, 1) cast to uint8 are all zero
    assert np.random.default_rng(3).random((28, 28, 3)).astype("uint8").max() == 0 == r["values"]["code_image_max"]
    assert r["values"]["code_params"] == sum(p.numel() for p in nn.Conv2d(3, 16, 1).parameters())
    assert r["verdict"] == "partly"


def test_q7_output_sizes_by_enumerating_windows_and_the_solution_network(tmp_path):
    r = rec("solB.q7", tmp_path)

    def windows(n, k, s, p):  # count the window starts that fit in the padded input
        return sum(1 for i in range(0, n + 2 * p) if i % s == 0 and i + k <= n + 2 * p)

    assert {int(s): v for s, v in r["values"]["stride_example"].items()} == {s: windows(32, 3, s, 1) for s in (1, 2, 3, 4)}
    with torch.device("meta"), torch.no_grad():  # 89.5 M parameters: shapes and counts without memory
        net = nn.Sequential(nn.Conv2d(3, 64, 1), nn.ReLU(), nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, 128, 3), nn.ReLU(),
                            nn.Conv2d(128, 256, 5), nn.ReLU(), nn.MaxPool2d(3, 1, 1), nn.Flatten(), nn.LazyLinear(512), nn.ReLU(),
                            nn.Linear(512, 10))
        flat = net[:10](torch.zeros(1, 3, 32, 32)).shape[1]
        net(torch.zeros(1, 3, 32, 32))
    assert r["values"]["solution_flatten"] == flat and r["values"]["solution_params"] == sum(p.numel() for p in net.parameters())
    # a real Inception module (3a widths): four branches on the same input, concatenated
    b = [nn.Conv2d(64, 64, 1), nn.Sequential(nn.Conv2d(64, 96, 1), nn.Conv2d(96, 128, 3, padding=1)),
         nn.Sequential(nn.Conv2d(64, 16, 1), nn.Conv2d(16, 32, 5, padding=2)), nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(64, 32, 1))]
    x = torch.zeros(1, 64, 32, 32)
    assert torch.cat([m(x) for m in b], 1).shape[1] == 256
    assert r["values"]["inception_3a_params"] == sum(p.numel() for m in b for p in m.parameters())
    assert r["values"]["solution_fanout"] == 1 and r["values"]["inception_fanout"] == 4
    assert r["verdict"] == "partly"


def test_q3b_conv3d_counts_by_formula(tmp_path):
    r = rec("solB.q3b", tmp_path)
    p = r["values"]["params"]
    assert p["Conv3D 3×3×3 on the clip"] == 3 * 3 * 3 * 3 * 64 + 64 == sum(q.numel() for q in nn.Conv3d(3, 64, 3).parameters())
    assert p["Conv2D 3×3 on one frame"] == sum(q.numel() for q in nn.Conv2d(3, 64, 3).parameters())
    assert p["Conv2D 3×3 on the frames stacked as channels"] == sum(q.numel() for q in nn.Conv2d(48, 64, 3).parameters())
    assert r["values"]["conv3d_output"] == list(nn.Conv3d(3, 64, 3, padding=1)(torch.zeros(1, 3, 4, 8, 8)).shape[1:2]) + [16, 112, 112]
    assert r["verdict"] == "correct"
