"""Small multiples: many small models (committee members, loss variants, sweeps) in ONE figure each for
curves and confusion matrices, so a report shows every model instead of dropping all but one.

Sizes are chosen for the report's 7.1-inch page at full width: a panel's text is drawn at 8-9 pt in a figure
at most 7.5 inches wide, so it prints at >= 7 pt.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from tamrin.report.figures import TRAIN, VAL, best_epoch, epoch_axis, plt
from tamrin.report.metrics import _as_numpy

__all__ = ["curves_grid", "confusion_grid"]

FIG_WIDTH = 7.5  # inches; shown at the full page width (7.1 in) this keeps 8-pt text at about 7.6 pt


def _grid(n: int, ncols: int):
    ncols = max(1, min(ncols, n))
    return ncols, -(-n // ncols)


def curves_grid(histories: Mapping[str, Sequence[dict]], ncols: int = 4, best: Mapping[str, int | None] | None = None):
    """One column per model, two rows of panels per grid row: loss (top) and accuracy (bottom), train solid,
    validation dashed, the kept epoch dotted. Axes are shared within a row so the models compare at a glance."""
    names = list(histories)
    ncols, nrows = _grid(len(names), ncols)
    fig, axes = plt.subplots(2 * nrows, ncols, figsize=(FIG_WIDTH, 2.9 * nrows), squeeze=False, sharey="row")
    for i in range(nrows * ncols):
        r, c = divmod(i, ncols)
        ax_l, ax_a = axes[2 * r, c], axes[2 * r + 1, c]
        if i >= len(names):
            ax_l.axis("off")
            ax_a.axis("off")
            continue
        name, hist = names[i], list(histories[names[i]])
        xs = [h.get("epoch", j + 1) for j, h in enumerate(hist)]
        for ax, what in ((ax_l, "loss"), (ax_a, "acc")):
            for split, colour, style in (("train", TRAIN, "-"), ("val", VAL, "--")):
                pts = [(x, h[f"{split}_{what}"]) for x, h in zip(xs, hist) if h.get(f"{split}_{what}") is not None]
                if pts:
                    px, py = zip(*pts)
                    ax.plot(px, py, style, color=colour, marker="o", ms=3 if len(px) > 2 else 5, lw=1.2,
                            label="train" if split == "train" else "validation")
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            epoch_axis(ax, xs)
        kept = (best or {}).get(name) or best_epoch(hist)
        if kept is not None:
            ax_a.axvline(kept, color="#999", lw=0.8, ls=":")
        ax_l.set_title(str(name), fontsize=9)
        ax_a.set_xlabel("epoch", fontsize=8)
        if c == 0:
            ax_l.set_ylabel("loss", fontsize=8)
            ax_a.set_ylabel("accuracy", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96 if nrows == 1 else 0.98))
    return fig


def confusion_grid(cms: Mapping[str, object], classes: Sequence[str], title: str = "", ncols: int = 3):
    """One small confusion matrix per model: colour = fraction of the true class (row), number = count.
    With more than 12 classes the counts would not fit a small cell: colours only (the caption says so)."""
    names = list(cms)
    k = len(classes)
    longest = max(len(str(c)) for c in classes)
    ncols = 2 if k > 6 or longest > 8 else ncols  # a 10-class matrix (or long names) needs half the page for 8-pt text
    ncols, nrows = _grid(len(names), ncols)
    panel = FIG_WIDTH / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH, panel * nrows + (0.3 if title else 0)), squeeze=False)
    size = 8 if k <= 10 else 7
    for i, ax in enumerate(axes.ravel()):
        if i >= len(names):
            ax.axis("off")
            continue
        cm = _as_numpy(cms[names[i]]).astype(np.int64)
        row = cm.sum(axis=1, keepdims=True)
        frac = np.divide(cm, row, out=np.zeros(cm.shape, dtype=float), where=row > 0)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        if k <= 12:
            for a in range(k):
                for b in range(k):
                    ax.text(b, a, f"{cm[a, b]:,}", ha="center", va="center", fontsize=size,
                            color="#aaa" if cm[a, b] == 0 else "white" if frac[a, b] > 0.55 else "#222")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        short = max(len(str(c)) for c in classes) <= 3
        ax.set_xticklabels([str(c) for c in classes], fontsize=8, rotation=0 if short else 90)
        first_col = i % ncols == 0  # the classes are the same in every panel: name the rows once per grid row
        ax.set_yticklabels([str(c) for c in classes] if first_col else [], fontsize=8)
        acc = np.trace(cm) / max(1, cm.sum())
        ax.set_title(f"{names[i]}: acc {acc:.3f} (n = {cm.sum():,})", fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        if first_col:
            ax.set_ylabel("true", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
