"""hw4.p1: the 5x5 residual block by hand — every matrix from tamrin.scratch (the residual-walkthrough
experiment's `walkthrough`), checked with PyTorch; max pooling in both floor and ceil mode."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close


def torch_walkthrough(x: np.ndarray, k: np.ndarray) -> dict:
    import torch
    import torch.nn.functional as F

    t = torch.tensor(x)[None, None]
    conv = F.conv2d(t, torch.tensor(k)[None, None], padding=1)
    relu2 = F.relu(F.relu(conv) + t)
    floor = F.max_pool2d(relu2, 2, 2)
    ceil = F.max_pool2d(relu2, 2, 2, ceil_mode=True)
    return {"conv": conv[0, 0], "relu1": F.relu(conv)[0, 0], "skip": (F.relu(conv) + t)[0, 0], "relu2": relu2[0, 0],
            "pool_floor": floor[0, 0], "pool_ceil": ceil[0, 0], "gap_floor": floor.mean(), "gap_ceil": ceil.mean()}


def _fmt(m) -> str:
    return "[" + "; ".join(" ".join(f"{v + 0.0:g}" for v in row) for row in np.asarray(m)) + "]"


def _figure(ctx, r: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tamrin.experiments.residual_walkthrough import heatmap

    panels = [("input", "input X", "Greys_r"), ("filter", "filter K", "coolwarm"),
              ("conv", "conv X ⋆ K (pad 1)", "viridis"), ("relu1", "ReLU(conv)", "viridis"),
              ("skip", "+ X (skip)", "viridis"), ("relu2", "ReLU(…) block output", "viridis"),
              ("pool_floor", f"max pool 2x2 s2, floor: GAP {r['gap_floor']:g}", "viridis"),
              ("pool_ceil", f"ceil mode: GAP {r['gap_ceil']:.5g}", "viridis")]
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.5))
    for ax, (key, title, cmap) in zip(axes.flat, panels):
        heatmap(ax, np.asarray(r[key], dtype=float), title, cmap, fontsize=7.5)
        ax.set_xticks([])  # row/column labels add ~100 texts to draw; the cell values say it all
        ax.set_yticks([])
    fig.subplots_adjust(wspace=0.08, hspace=0.18)
    return ctx.figure(fig, "hw4_p1_residual_block", dpi=80)


@answer("hw4.p1")
def residual_block(ctx) -> Answer:
    from tamrin.experiments.residual_walkthrough import DEFAULT_FILTER, DEFAULT_INPUT, walkthrough
    from tamrin.scratch.conv import residual_block_forward

    x, k = np.array(DEFAULT_INPUT, dtype=np.float64), np.array(DEFAULT_FILTER, dtype=np.float64)
    r = walkthrough(x, k, pool=2)
    block, _ = residual_block_forward(x[None, None], k[None, None])  # the library's fused block, a second route
    t = torch_walkthrough(x, k)
    n_neg = int(np.sum(r["conv"] < 0))
    n_skip_neg = int(np.sum(r["skip"] < 0))
    i0 = np.unravel_index(np.argmax(r["conv"]), r["conv"].shape)
    patch = r["padded"][i0[0]:i0[0] + 3, i0[1]:i0[1] + 3]
    worked = " + ".join(f"{a:g}·({b:g})" if b < 0 else f"{a:g}·{b:g}" for a, b in zip(patch.ravel(), k.ravel()))
    hf, hc = r["pool_floor"].shape, r["pool_ceil"].shape
    text = (f"1) Convolution (cross-correlation as in every framework, zero padding 1, stride 1, so the 5x5 size is "
            f"kept and the skip can be added): {_fmt(r['conv'])}; e.g. output[{i0[0]},{i0[1]}] = {worked} = "
            f"{r['conv'][i0]:g}. 2) ReLU: {n_neg} value(s) were negative"
            + (" so the matrix is unchanged" if n_neg == 0 else f", now 0: {_fmt(r['relu1'])}")
            + f". 3) Skip connection, ReLU(conv) + X = {_fmt(r['skip'])}; the second ReLU "
            + ("changes nothing (every entry is a sum of non-negative terms)" if n_skip_neg == 0 else
               f"zeroes {n_skip_neg} entries")
            + f": block output {_fmt(r['relu2'])}. 4) Max pooling 2x2, stride 2: a 5x5 map does not tile into 2x2 "
            f"windows. Floor mode (PyTorch/Keras default: only complete windows, the last row and column are "
            f"dropped) gives {hf[0]}x{hf[1]} = {_fmt(r['pool_floor'])}; ceil mode (partial windows at the edge kept) "
            f"gives {hc[0]}x{hc[1]} = {_fmt(r['pool_ceil'])}. 5) Global average pooling: {r['gap_floor']:g} "
            f"(floor) or {r['gap_ceil']:.6g} (ceil).")
    keys = ["conv", "relu1", "skip", "relu2", "pool_floor", "pool_ceil", "gap_floor", "gap_ceil"]
    names = dict(zip(keys, ["1_conv", "2_relu", "3_plus_skip", "4_block_output_relu", "5_maxpool_floor",
                            "5_maxpool_ceil", "6_gap_floor", "6_gap_ceil"]))  # the report captions: step order
    return Answer(
        text,
        values={"input": r["input"], "filter": r["filter"], **{names[key]: r[key] for key in keys}},
        how="tamrin.experiments.residual_walkthrough.walkthrough (tamrin.scratch conv2d_forward, relu_forward, "
            "max_pool_forward floor/ceil, global_avg_pool_forward) in float64",
        checks=[close(f"PyTorch (conv2d padding=1 → relu → + x → relu → max_pool2d floor / ceil_mode → mean): {key}",
                      r[key], t[key].numpy(), atol=1e-9) for key in keys]
               + [close("tamrin.scratch.conv.residual_block_forward (the fused block) = the step-by-step output",
                        block[0, 0], r["relu2"], atol=1e-9)],
        figures=[(_figure(ctx, r), "Every matrix of the residual block, values in the cells.")],
        assumptions=["the filter is applied without flipping (cross-correlation), as in PyTorch/Keras; 'stride and "
                     "padding 1' read as stride 1 and zero padding 1"])
