"""Project 4's answers recomputed by routes written here: a PyTorch module built in the test for the 1D CNN's
parameters, finite differences for its gradients, perturbation for the receptive field, index enumeration
for the dilated output size, loops for the dilated kernel."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F




def test_q1_equivariance_and_parameter_saving(rec):
    v = rec("p4.q1")["values"]
    g = torch.Generator().manual_seed(3)
    x, k = torch.randn(1, 1, 12, 12, generator=g, dtype=torch.float64), torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    conv = lambda t: F.conv2d(F.pad(t, (1, 1, 1, 1), mode="circular"), k)  # noqa: E731
    for s in ((1, 2), (5, -3)):
        assert torch.allclose(conv(torch.roll(x, s, (2, 3))), torch.roll(conv(x), s, (2, 3)), atol=1e-12)
    assert v["equivariance_error_torch"] < 1e-12 and v["equivariance_error_scratch"] < 1e-12
    assert v["dense_layer_error"] > 0.1
    assert v["dense_params"] == sum(p.numel() for p in nn.Linear(256, 256).parameters())
    # pooling keeps more of the response unchanged than the raw feature map after a one-pixel shift
    one = [r for r in v["pooling_table"] if r["shift"] == 1][0]
    assert one["pool_same"] > one["feature_same"]


def _net_1d(s: int, h: int) -> nn.Module:
    """Written independently of tamrin: the size after pooling is found by running a dummy input."""
    body = nn.Sequential(nn.Conv1d(1, 1, 2, padding=1), nn.ReLU(), nn.AvgPool1d(s), nn.Flatten())
    n = body(torch.zeros(1, 1, 785)).shape[1]
    return nn.Sequential(body, nn.Linear(n, h), nn.ReLU(), nn.Linear(h, 1), nn.Sigmoid())


def test_q3a_parameters_by_a_torch_module(rec):
    v = rec("p4.q3a")["values"]
    s, h = v["example_s"], v["example_h"]
    assert v["example_total"] == sum(p.numel() for p in _net_1d(s, h).parameters())
    for row in v["grid"]:
        assert row["formula"] == sum(p.numel() for p in _net_1d(row["s"], row["h"]).parameters())


def test_q3b_gradients_by_finite_differences(rec):
    from tamrin.answers.p4 import POOL, WIDTH
    from tamrin.calc.examples.gradients import Net

    v = rec("p4.q3b")["values"]
    torch.manual_seed(0)  # the answer's construction with Context(seed=0)
    net = Net(POOL, WIDTH).double()
    with torch.no_grad():
        net.conv.weight.abs_()
        net.conv.bias.fill_(0.1)
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, 785))[None, None]
    y = v["Y"]

    def cost():
        with torch.no_grad():
            z = float(net(x)[0, 0])
        return -(y * np.log(z) + (1 - y) * np.log(1 - z))

    def fd(param, idx, eps=1e-6):
        with torch.no_grad():
            old = param[idx].item()
            param[idx] = old + eps
            up = cost()
            param[idx] = old - eps
            down = cost()
            param[idx] = old
        return (up - down) / (2 * eps)

    assert v["dCost_dWC1"] == pytest.approx(fd(net.conv.weight, (0, 0, 0)), abs=1e-7)
    wa = np.array(v["dCost_dWA_flat"]).reshape(v["dCost_dWA_shape"])
    rng = np.random.default_rng(5)
    big = np.argwhere(np.abs(wa) > 0)
    picks = [tuple(big[i]) for i in rng.choice(len(big), 8, replace=False)] + [(0, 0)]
    for i, j in picks:
        assert wa[i, j] == pytest.approx(fd(net.fc_a.weight, (i, j)), abs=1e-7)


def test_q4a_receptive_field_by_perturbation(rec):
    v = rec("p4.q4a")["values"]
    for k, rf in zip(v["K"], v["rf"]):
        w = torch.rand(1, 1, k, k, dtype=torch.float64) + 0.1  # positive weights: no accidental cancellation
        x = torch.zeros(1, 1, 21, 21, dtype=torch.float64)
        x2 = x.clone()
        x2[0, 0, 10, 10] = 1.0  # one input pixel changes: the outputs that see it change
        # with stride 1, the number of outputs (along a row) that one pixel reaches = the pixels one output sees
        changed = (F.conv2d(x2, w) - F.conv2d(x, w)).abs()[0, 0].sum(0) > 0
        assert int(changed.sum()) == rf == k


def test_q4b_size_by_enumerating_indices(rec):
    v = rec("p4.q4b")["values"]
    for M in range(1, 14):
        for F_ in (1, 2, 3):
            for D in (1, 2, 3):
                # rows i whose every tap i + D·m (m = 0..F-1) lies inside 0..M-1
                count = sum(all(0 <= i + D * m < M for m in range(F_)) for i in range(M))
                assert count == max(M - D * F_ + D, 0)
    assert v["mismatches"] == 0 and v["cases"] > 100
    assert v["example_11x9_F3_D2"] == [11 - 2 * 3 + 2, 9 - 2 * 3 + 2]


def test_q4c_kernel_by_loops(rec):
    v = rec("p4.q4c")["values"]
    A, D, F_ = np.array(v["A"]), v["D"], v["F"]
    assert A.shape == (D, D) and A[0, 0] == 1 and A.sum() == 1
    k = np.array(v["K"])
    kp = np.array(v["K_prime"])
    assert kp.shape == (D * (F_ - 1) + 1,) * 2
    assert np.allclose(np.kron(k, A)[:kp.shape[0], :kp.shape[1]], kp)
    img = np.random.default_rng(2).standard_normal((13, 11))
    n = kp.shape[0]
    ordinary = np.array([[np.sum(img[i:i + n, j:j + n] * kp) for j in range(11 - n + 1)] for i in range(13 - n + 1)])
    dil = F.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(k)[None, None], dilation=D)[0, 0].numpy()
    np.testing.assert_allclose(ordinary, dil, atol=1e-12)
