"""Figures for the cnn-cifar10 report."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def accuracy_vs_macs(points: dict[str, list[tuple[float, float, str]]], title: str = "") -> plt.Figure:
    """points: series name -> [(multiply-adds, accuracy, label)]; one line per series, log x axis."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, pts), marker in zip(points.items(), "osD^v<>"):
        if not pts:
            continue
        pts = sorted(pts)
        ax.plot([p[0] / 1e6 for p in pts], [100 * p[1] for p in pts], marker=marker, label=name,
                linestyle="-" if len(pts) > 1 and name != "models" else "none")
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds per image (millions, log scale)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title or "Accuracy vs computation")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    place_labels(ax, [(m / 1e6, 100 * a, lab) for pts in points.values() for m, a, lab in pts])
    return fig


# candidate label positions around a point (offset in points, horizontal alignment), tried in this order
_OFFSETS = [((5, 4), "left"), ((5, -11), "left"), ((-5, 4), "right"), ((-5, -11), "right"),
            ((5, 14), "left"), ((-5, 14), "right"), ((5, -21), "left"), ((-5, -21), "right")]


def place_labels(ax, points: list[tuple[float, float, str]], fontsize: float = 8) -> list:
    """Annotate each (x, y, text) at the first candidate offset whose box overlaps no label placed before
    (nor the points themselves); the last candidate when every one collides. Returns the text artists."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    dots = [ax.transData.transform((x, y)) for x, y, _ in points]
    placed, texts = [], []
    for x, y, lab in points:
        for (dx, dy), ha in _OFFSETS:
            t = ax.annotate(lab, (x, y), textcoords="offset points", xytext=(dx, dy), ha=ha, fontsize=fontsize)
            box = t.get_window_extent(renderer).expanded(1.05, 1.1)
            hits_dot = any(box.contains(px, py) for px, py in dots)
            if not hits_dot and not any(box.overlaps(b) for b in placed):
                break
            if (dx, dy) != _OFFSETS[-1][0]:
                t.remove()
        placed.append(box)
        texts.append(t)
    return texts


def cost_ratio(rows: list[dict]) -> plt.Figure:
    """Separable / full conv: theory 1/N + 1/9, counted multiply-adds and measured CPU time."""
    n = [r["channels"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(n, [r["theory"] for r in rows], "k--", label="theory 1/N + 1/D_k^2")
    ax.plot(n, [r["macs_ratio"] for r in rows], "o", label="counted multiply-adds")
    ax.plot(n, [r["time_ratio"] for r in rows], "s-", label="measured CPU time")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("channels M = N")
    ax.set_ylabel("depthwise-separable / full 3x3 conv")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def first_pointwise_conv(model: nn.Module, min_in: int = 8) -> tuple[str, nn.Conv2d]:
    """The first ungrouped 1x1 conv with at least `min_in` input channels."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups == 1 and m.in_channels >= min_in:
            return name, m
    raise ValueError("model has no 1x1 convolution")


@torch.no_grad()
def one_by_one_maps(model: nn.Module, image: torch.Tensor, n_out: int = 3, n_in: int = 4) -> tuple[plt.Figure, dict]:
    """What a 1x1 conv computes: each output map is a weighted sum of ALL input maps at the same pixel.

    Shows, for `n_out` output channels, the `n_in` input maps with the largest |weight| (weight in the
    title) and the output map; also returns the max difference between the conv's output and the
    explicit weighted sum sum_c w[k, c] * input[c], which must be ~0.
    """
    name, conv = first_pointwise_conv(model)
    store = {}
    h = conv.register_forward_hook(lambda m, i, o: store.update(inp=i[0][0], out=o[0]))
    model.eval()(image[:1])
    h.remove()
    inp, out = store["inp"], store["out"]
    w = conv.weight[:, :, 0, 0]
    explicit = torch.einsum("kc,chw->khw", w, inp) + (conv.bias.view(-1, 1, 1) if conv.bias is not None else 0)
    err = float((explicit - out).abs().max())
    ks = torch.argsort(out.flatten(1).std(1), descending=True)[:n_out].tolist()  # the most varied outputs
    fig, axes = plt.subplots(n_out, n_in + 2, figsize=(1.7 * (n_in + 2), 1.9 * n_out))
    axes = np.atleast_2d(axes)
    for r, k in enumerate(ks):
        top = torch.argsort(w[k].abs(), descending=True)[:n_in].tolist()
        for c_i, c in enumerate(top):
            axes[r, c_i].imshow(inp[c].numpy(), cmap="gray")
            axes[r, c_i].set_title(f"in {c}: w={float(w[k, c]):+.2f}", fontsize=7)
        axes[r, n_in].text(0.5, 0.5, f"+ {conv.in_channels - n_in}\nmore maps\n=", ha="center", va="center", fontsize=8)
        axes[r, n_in + 1].imshow(out[k].numpy(), cmap="magma")
        axes[r, n_in + 1].set_title(f"out {k}", fontsize=8)
        for ax in axes[r]:
            ax.axis("off")
    fig.suptitle(f"1x1 conv '{name}': output map = weighted sum of the {conv.in_channels} input maps", fontsize=9)
    fig.tight_layout()
    return fig, {"layer": name, "in_channels": conv.in_channels, "out_channels": conv.out_channels, "max_abs_err": err}


def accuracy_vs_time(histories: dict[str, list[dict]]) -> plt.Figure:
    """Validation accuracy (%) against the fit's wall clock (s), one line per model, a marker per epoch."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (name, h), marker in zip(histories.items(), "osD^v<>px"):
        pts = [(r["elapsed_s"], 100 * r["val_acc"]) for r in h if r.get("val_acc") is not None and "elapsed_s" in r]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker=marker, ms=4, label=f"{name} ({ys[-1]:.1f}%)")
    ax.set_xlabel("training wall-clock time (s)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Accuracy against training time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_grid(matrices: dict[str, list[list[int]]], classes: list[str], split: str) -> plt.Figure:
    """Small multiples: one confusion matrix per model, row-normalised colour, counts in the cells."""
    n = len(matrices)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    k = len(classes)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.4 * rows), squeeze=False)
    for ax, (name, cm) in zip(axes.flat, matrices.items()):
        cm = np.asarray(cm, dtype=float)
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=6.5,
                            color="white" if share[i, j] > 0.5 else "black")
        acc = np.trace(cm) / max(cm.sum(), 1)
        ax.set_title(f"{name} ({split}, accuracy {acc:.1%})", fontsize=9)
        ax.set_xticks(range(k), classes, rotation=60, fontsize=7, ha="right")
        ax.set_yticks(range(k), classes, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
