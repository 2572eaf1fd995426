"""Figures for the FF reports (matplotlib, Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tamrin.report.figures import epoch_axis  # noqa: E402


def layer_curves(history: list[dict], n_layers: int, title: str):
    """Per-layer loss, and mean positive / negative goodness, per epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i in range(n_layers):
        ep = [r["epoch"] for r in history if f"loss_l{i}" in r]
        if not ep:
            continue
        rows = [r for r in history if f"loss_l{i}" in r]
        c = f"C{i}"
        mk = dict(marker="o", ms=3) if len(ep) <= 30 else {}  # a one- or few-epoch run still shows its points
        axes[0].plot(ep, [r[f"loss_l{i}"] for r in rows], color=c, label=f"layer {i + 1}", **mk)
        axes[1].plot(ep, [r[f"gpos_l{i}"] for r in rows], color=c, label=f"layer {i + 1} positive", **mk)
        axes[1].plot(ep, [r[f"gneg_l{i}"] for r in rows], color=c, ls="--", label=f"layer {i + 1} negative", **mk)
    axes[0].set(xlabel="epoch", ylabel="local FF loss", title=f"{title}: loss per layer")
    axes[1].set(xlabel="epoch", ylabel="mean goodness", title="positive (solid) vs negative (dashed) goodness")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, ncol=2)
    for ax in axes:
        epoch_axis(ax, [r["epoch"] for r in history])
    fig.tight_layout()
    return fig


def goodness_histograms(pos: np.ndarray, neg: np.ndarray, theta: list[float], titles: list[str], suptitle: str):
    """One panel per column of pos/neg (N, K): histograms of positive vs negative goodness."""
    k = pos.shape[1]
    fig, axes = plt.subplots(1, k, figsize=(3.4 * k, 3.0), squeeze=False)
    for j in range(k):
        ax = axes[0, j]
        lo = min(pos[:, j].min(), neg[:, j].min())
        hi = max(np.percentile(pos[:, j], 99.5), np.percentile(neg[:, j], 99.5))
        bins = np.linspace(lo, hi, 50)
        ax.hist(pos[:, j], bins=bins, alpha=0.6, label="positive", color="C2")
        ax.hist(neg[:, j], bins=bins, alpha=0.6, label="negative", color="C3")
        if theta[j] is not None:
            ax.axvline(theta[j], color="k", ls=":", label="θ")
        ax.set_title(titles[j], fontsize=9)
        ax.set_xlabel("goodness")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def margin_histogram(margin: np.ndarray, title: str):
    """Accumulated goodness of the true label minus the best wrong label (> 0 = correct)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.hist(margin, bins=60, color="C0")
    ax.axvline(0, color="k", ls=":")
    ax.set(xlabel="goodness(true label) - max goodness(wrong labels)", ylabel="test images", title=title)
    fig.tight_layout()
    return fig


def image_rows(rows: list[np.ndarray], row_titles: list[str], title: str):
    """A grid: each entry of `rows` is (n, H, W) images shown in one row."""
    n = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.25 * len(rows)), squeeze=False)
    for i, r in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(r):
                ax.imshow(r[j], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(row_titles[i], fontsize=8, loc="left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def run_length_plot(passes: list[int], lengths: list[float], random_len: float, chosen: int):
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(passes, lengths, "o-", label="blurred + thresholded mask")
    ax.axhline(random_len, color="C3", ls="--", label="random bit image")
    ax.axvline(chosen, color="k", ls=":", label=f"default: {chosen} passes")
    ax.set(xlabel="blur passes", ylabel="mean horizontal run length (pixels)", title="How coherent are the masks?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
