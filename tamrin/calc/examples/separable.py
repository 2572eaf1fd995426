"""Depthwise-separable vs standard convolutions on a 512x512x3 input (4x4 kernels, stride 2, padding 1)."""
from __future__ import annotations

from tamrin.calc.analyze import analyze
from tamrin.calc.examples import Example
from tamrin.calc.layers import fmt_shape

CHANNELS = (64, 128, 256)
SEP = "in:3x512x512 " + " ".join(f"dw4s2p1 pw:{c}" for c in CHANNELS)
STD = "in:3x512x512 " + " ".join(f"conv4s2p1:{c}" for c in CHANNELS)


def separable() -> Example:
    """512x512x3 input, 4x4 kernels s2 p1, 64/128/256 channels: (A) depthwise + pointwise vs (B) standard convs."""
    ex = Example("separable", "Depthwise-separable (A) vs standard (B) convolutions on a 512x512x3 input")
    a, b = analyze(SEP), analyze(STD)
    sides = [r.out_shape[1] for r in b.rows]
    ex.text(f"Each layer: 4x4 kernel, stride 2, padding 1, so every layer halves the side: (512 + 2*1 - 4)/2 + 1 = "
            f"{sides[0]}, then {', then '.join(str(v) for v in sides[1:])}. Multiplications = weights x output positions "
            f"(biases are listed apart and cost additions only).\n\n(A) `{SEP}`\n\n(B) `{STD}`")
    rows = []
    for r in a.rows:
        rows.append(["A", r.name, fmt_shape(r.in_shape), fmt_shape(r.out_shape), r.weights, r.biases, r.macs])
    for r in b.rows:
        rows.append(["B", r.name, fmt_shape(r.in_shape), fmt_shape(r.out_shape), r.weights, r.biases, r.macs])
    rows.append(["A", "total", "", fmt_shape(a.output_shape), a.total("weights"), a.total("biases"), a.macs])
    rows.append(["B", "total", "", fmt_shape(b.output_shape), b.total("weights"), b.total("biases"), b.macs])
    ex.table(["net", "layer", "input", "output", "weights", "biases", "multiplications"], rows)
    ratio_rows, dk = [], 4
    for i, c in enumerate(CHANNELS):
        dw, pw, std = a.rows[2 * i], a.rows[2 * i + 1], b.rows[i]
        measured = (dw.macs + pw.macs) / std.macs
        theory = 1 / c + 1 / dk ** 2
        ratio_rows.append([f"layer {i + 1}", c, f"{dw.macs:,} + {pw.macs:,}", f"{std.macs:,}", round(measured, 6),
                           f"1/{c} + 1/{dk * dk} = {theory:.6f}"])
        ex.check(f"layer {i + 1}: cost ratio = 1/N + 1/D_k^2", measured, theory)
    ex.table(["layer", "N", "A multiplications (dw + pw)", "B multiplications", "A/B", "1/N + 1/D_k^2"], ratio_rows,
             "per layer, the ratio is exact")
    ex.text("Why: a standard layer costs D_k^2*M*N*D_o^2 multiplications, depthwise D_k^2*M*D_o^2 plus pointwise "
            "M*N*D_o^2, so (A)/(B) = 1/N + 1/D_k^2 (D_k = kernel side, M input and N output channels, D_o output side). "
            f"In total (A) needs {a.macs:,} multiplications and (B) {b.macs:,}: {a.macs / b.macs:.4f} of the cost, "
            f"with {a.total('weights'):,} vs {b.total('weights'):,} weights ({a.total('weights') / b.total('weights'):.4f}).")
    ex.plot("costs", lambda: _figure(a, b), "multiplications per layer, standard vs depthwise-separable (log scale)")
    ex.check("output shape of both nets", (fmt_shape(a.output_shape), fmt_shape(b.output_shape)), ("256x64x64", "256x64x64"))
    ex.check("B layer 1 multiplications = 4*4*3*64*256*256", b.rows[0].macs, 4 * 4 * 3 * 64 * 256 * 256)
    return ex


def _figure(a, b):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3))
    x = range(len(CHANNELS))
    ax.bar([i - 0.2 for i in x], [r.macs for r in b.rows], 0.4, label="(B) standard")
    ax.bar([i + 0.2 for i in x], [a.rows[2 * i].macs for i in x], 0.4, label="(A) depthwise")
    ax.bar([i + 0.2 for i in x], [a.rows[2 * i + 1].macs for i in x], 0.4, bottom=[a.rows[2 * i].macs for i in x],
           label="(A) pointwise")
    ax.set_yscale("log")
    ax.set_xticks(list(x), [f"layer {i + 1} ({c} ch)" for i, c in enumerate(CHANNELS)])
    ax.set_ylabel("multiplications")
    ax.legend(fontsize=8)
    return fig
