"""Receptive fields (the recurrence, checked with gradients) and dilated convolutions (checked by running torch)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tamrin.calc.analyze import analyze
from tamrin.calc.build import build
from tamrin.calc.examples import Example
from tamrin.calc.rf import fmt_num


def gradient_map(spec: str, size: int):
    """|d output / d input| for one central output of the all-ones network (max pools as average pools)."""
    net = build(spec.replace("maxpool", "avgpool"), (1, size, size)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    c = y.shape[-1] // 2
    y[0, 0, c, c].backward()
    return x.grad[0, 0].abs().numpy()


def measured_rf(spec: str, size: int) -> int:
    """Receptive field measured with autograd: build the net with all-ones weights (max pools replaced by
    average pools, which pass gradient to every input of the window), back-propagate from one central
    output and count the input pixels with a non-zero gradient along one axis."""
    cols = (gradient_map(spec, size).sum(0) > 0).nonzero()[0]
    return int(cols.max() - cols.min() + 1)


def receptive_field() -> Example:
    """Receptive field of conv3x3 s2 -> pool2x2 s2 -> conv3x3 s2 -> pool2x2 s2 (21x21; 13x13 with stride-1 pools)."""
    ex = Example("receptive-field", "Receptive field of conv3x3 s2 -> pool2x2 s2 -> conv3x3 s2 -> pool2x2 s2")
    ex.text("Each layer widens the field by (K_n - 1) input steps of the layer's input, and one step of layer n's "
            "input spans the product of all earlier strides:\n\n"
            "RF_n = RF_(n-1) + (K_n - 1) * (s_1 * s_2 * ... * s_(n-1)),   RF_0 = 1.")
    results = {}
    for label, pool in (("pools with stride 2", "maxpool2"), ("pools with stride 1", "maxpool2s1")):
        spec = f"in:1x64x64 conv3s2:1 {pool} conv3s2:1 {pool}"
        a = analyze(spec)
        rows, prev, jump = [], 1, 1
        for r in a.rows:
            k, s = r.info["kernel"][0], r.info["stride"][0]
            rf = r.rf[0][0]
            rows.append([r.name, k, s, jump, f"{prev} + ({k} - 1) * {jump} = {rf}"])
            prev, jump = rf, jump * s
        measured = measured_rf(spec, 64)
        results[label] = (a.rows[-1].rf[0][0], measured)
        ex.table(["layer", "K", "stride", "product of earlier strides", "RF"], rows,
                 f"{label}: {prev}x{prev}; measured with autograd on a 64x64 input: {measured}x{measured}")
    rf2, rf1 = results["pools with stride 2"][0], results["pools with stride 1"][0]
    ex.plot("gradients", lambda: _rf_figure(results), "input pixels that influence one central output (non-zero "
            "gradient), for both pooling strides")
    ex.text(f"With stride-2 pools the field is **{rf2}x{rf2}**; the answer {rf1}x{rf1} only holds if the pools have "
            "stride 1. Both are confirmed by back-propagating from one output of the real network (all-ones weights) and "
            "measuring the span of non-zero input gradients.")
    ex.check("RF with stride-2 pools", rf2, 21)
    ex.check("RF with stride-1 pools", rf1, 13)
    ex.check("autograd RF with stride-2 pools", results["pools with stride 2"][1], rf2)
    ex.check("autograd RF with stride-1 pools", results["pools with stride 1"][1], rf1)
    return ex


def _rf_figure(results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
    for ax, (label, pool) in zip(axes, (("pools with stride 2", "maxpool2"), ("pools with stride 1", "maxpool2s1"))):
        g = gradient_map(f"in:1x64x64 conv3s2:1 {pool} conv3s2:1 {pool}", 64)
        ax.imshow(g > 0, cmap="Greys", interpolation="nearest")
        ax.set_title(f"{label}: {results[label][1]}x{results[label][1]}")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def dilate_kernel(k: np.ndarray, d: int) -> np.ndarray:
    """K' = K (x) A with A the d x d matrix with a single 1 top-left; the trailing d-1 zero rows/columns are trimmed."""
    a = np.zeros((d, d))
    a[0, 0] = 1
    big = np.kron(k, a)
    n = big.shape[0] - (d - 1)
    return big[:n, :n]


def dilated(M: int = 12, N: int = 10, F_: int = 3, D: int = 2, seed: int = 0) -> Example:
    """Dilated convolution: output size M - D*F + D, the dilated kernel K (x) A, and the receptive field D*(K-1)+1."""
    ex = Example("dilated", "Dilated convolution: output size, the dilated kernel K' = K (x) A, receptive field")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, M, N, generator=g, dtype=torch.float64)
    k = torch.randn(1, 1, F_, F_, generator=g, dtype=torch.float64)
    y = F.conv2d(x, k, dilation=D)
    expect = (M - D * F_ + D, N - D * F_ + D)
    ex.text(f"A {F_}x{F_} filter with dilation D={D} spans D*(F-1)+1 = {D * (F_ - 1) + 1} pixels, so on an M x N = "
            f"{M}x{N} input (stride 1, no padding) the output is (M - D*F + D) x (N - D*F + D) = "
            f"{expect[0]}x{expect[1]}. PyTorch's conv2d with dilation={D} returns {tuple(y.shape[2:])}.")
    kd = dilate_kernel(k[0, 0].numpy(), D)
    y2 = F.conv2d(x, torch.from_numpy(kd)[None, None])
    err = float((y - y2).abs().max())
    a = np.zeros((D, D), dtype=int)
    a[0, 0] = 1
    ex.text(f"A = {a.tolist()}. The Kronecker product K (x) A puts each weight of K at the top-left of a {D}x{D} block; "
            f"trimming the last {D - 1} zero row(s) and column(s) leaves a {kd.shape[0]}x{kd.shape[1]} kernel K'. "
            f"An ordinary convolution with K' equals the dilated convolution with K: largest difference {err:.1e}.")
    ex.table([f"K' column {j + 1}" for j in range(kd.shape[1])], [[f"{v:.3f}" for v in row] for row in kd],
             "the dilated kernel K' (zeros between the original weights)")
    rows = []
    for dd in (1, D, 2 * D):
        a_ = analyze(f"in:1x64x64 conv{F_}d{dd}:1")
        rows.append([f"conv{F_}x{F_} dilation {dd}", f"{dd}*({F_}-1)+1 = {dd * (F_ - 1) + 1}", fmt_num(a_.rows[0].rf[0][0])])
    ex.table(["layer (stride 1)", "formula D*(K-1)+1", "calculator RF"], rows,
             "one K x K layer sees K pixels; with dilation D it sees D*(K-1)+1")
    ex.check("output size (M - D*F + D, N - D*F + D) = PyTorch", tuple(y.shape[2:]), expect)
    ex.check("conv with K' equals dilated conv with K (max error < 1e-12)", err < 1e-12, True)
    ex.check("size of K'", kd.shape[0], D * (F_ - 1) + 1)
    ex.check("calculator RF with dilation", int(rows[1][2]), D * (F_ - 1) + 1)
    ex.check("calculator RF without dilation", int(rows[0][2]), F_)
    return ex
