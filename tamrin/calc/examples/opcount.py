"""Operation counts of convolution and pooling: a k x k x c window over a W x H output, per sample and per batch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tamrin.calc.analyze import analyze
from tamrin.calc.conventions import ops
from tamrin.calc.examples import Example


def op_counts(k: int = 3, c: int = 16, W: int = 20, H: int = 12, B: int = 8, seed: int = 0) -> Example:
    """Multiplications/additions of one conv filter and comparisons/additions of pooling over a W x H output."""
    ex = Example("op-counts", "Operations of a k x k x c convolution window and of pooling over a W x H output")
    win = k * k * c
    conv_mul, conv_add = W * H * win, W * H * (win - 1)
    ex.text(f"One output value of a convolution filter multiplies a k x k x c window element by element with the filter "
            f"(k^2*c multiplications) and sums the products (k^2*c - 1 additions; +1 with a bias). "
            f"With k={k}, c={c} a window has {win} elements; a W x H = {W}x{H} output map needs "
            f"W*H*k^2*c = {conv_mul:,} multiplications and W*H*(k^2*c - 1) = {conv_add:,} additions "
            f"(+{W * H:,} for the bias), per sample and per filter; a batch of B={B} needs B times as many: "
            f"{B * conv_mul:,} and {B * conv_add:,}.")
    pool_cmp = W * H * c * (k * k - 1)
    ex.text(f"Pooling works per channel on a k x k window: max pooling makes k^2 - 1 comparisons per output, "
            f"W*H*c*(k^2 - 1) = {pool_cmp:,} per sample; average pooling makes as many additions plus W*H*c = {W * H * c:,} "
            f"divisions (or multiplications by 1/k^2); no multiplications by weights. For the batch: {B * pool_cmp:,}.")
    # Do the conv the long way (unfold the windows, multiply, sum) counting every operation, and compare with torch.
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, c, H + k - 1, W + k - 1, generator=g, dtype=torch.float64)
    w = torch.randn(1, c, k, k, generator=g, dtype=torch.float64)
    cols = F.unfold(x, k)  # (B, k*k*c, W*H): one column per output position
    products = cols * w.reshape(1, -1, 1)
    y = products.sum(1).reshape(B, 1, H, W)
    counted_mul = products.numel()
    counted_add = (products.shape[1] - 1) * products.shape[0] * products.shape[2]
    err = float((y - F.conv2d(x, w)).abs().max())
    pooled = cols.reshape(B, c, k * k, H * W).max(2).values
    counted_cmp = (k * k - 1) * pooled.numel()
    pool_err = float((pooled.reshape(B, c, H, W) - F.max_pool2d(x, k, stride=1)).abs().max())
    a = analyze(f"in:{c}x{H + k - 1}x{W + k - 1} conv{k}:1")
    rows = [
        ["conv multiplications", f"B*W*H*k^2*c", B * conv_mul, counted_mul],
        ["conv additions (no bias)", f"B*W*H*(k^2*c - 1)", B * conv_add, counted_add],
        ["max-pool comparisons", f"B*W*H*c*(k^2 - 1)", B * pool_cmp, counted_cmp],
    ]
    ex.table(["operation", "formula", "formula value", "counted while computing it"], rows,
             f"batch B={B}; the unfolded conv matches torch's conv2d to {err:.1e}, the max pool to {pool_err:.1e}")
    ex.text(f"The calculator agrees per sample: `in:{c}x{H + k - 1}x{W + k - 1} conv{k}:1` costs {a.macs:,} multiply-adds "
            f"(tamrin convention); ptflops would report {ops(a.rows[0], 'ptflops'):,} because it adds one operation per "
            "output for the bias.")
    ex.check("counted multiplications = B*W*H*k^2*c", counted_mul, B * conv_mul)
    ex.check("counted additions = B*W*H*(k^2*c - 1)", counted_add, B * conv_add)
    ex.check("counted comparisons = B*W*H*c*(k^2 - 1)", counted_cmp, B * pool_cmp)
    ex.check("calculator MACs per sample = W*H*k^2*c", a.macs, conv_mul)
    ex.check("unfolded conv equals torch conv2d (error < 1e-10)", err < 1e-10 and pool_err == 0.0, True)
    return ex
