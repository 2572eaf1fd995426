"""Report figures. Each function returns a matplotlib Figure; save it with `run.save_figure(fig, name)`
(which also closes it). The Agg backend is forced: runs happen on headless machines.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tamrin.errors import UserError  # noqa: E402
from tamrin.report.metrics import _as_numpy, roc_curves  # noqa: E402

__all__ = ["best_epoch", "epoch_axis", "curves", "confusion", "roc", "image_grid", "bar", "lines"]

TRAIN, VAL = "#1f77b4", "#d62728"


def _no_data(ax, what: str):
    ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", color="#888", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def best_epoch(history: Sequence[dict]) -> int | None:
    """The epoch a trainer keeps: the FIRST one with the highest validation accuracy (tamrin.train.fit and the
    Solver replace the best only on a strictly higher accuracy, so a later tie does not win). Text and figure
    both call this, so they can never name different epochs."""
    best = None
    for i, h in enumerate(history or []):
        v = h.get("val_acc")
        if v is not None and v == v and (best is None or v > best[0]):
            best = (v, h.get("epoch", i + 1))
    return None if best is None else best[1]


def epoch_axis(ax, xs: Sequence[float]) -> None:
    """Integer epoch ticks and x-limits that make sense also for one or two epochs (a single point would
    otherwise sit on an axis running from 0.94 to 1.06 with fractional ticks)."""
    xs = [float(x) for x in xs]
    if not xs:
        return
    if all(x.is_integer() for x in xs):
        if max(xs) - min(xs) <= 10:  # few epochs: a tick at each one
            ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(sorted(set(xs))))
        else:
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
    lo, hi = min(xs), max(xs)
    if hi - lo < 2:  # one or two epochs: half an epoch of room either side
        ax.set_xlim(lo - 0.5, hi + 0.5)


def curves(history: Sequence[dict], title: str = "", best: int | None = None) -> Figure:
    """Train-vs-validation loss (left) and accuracy (right) per epoch.

    `history` is the trainer's list of per-epoch dicts (epoch, train_loss, train_acc, val_loss, val_acc);
    any key may be missing (e.g. no validation set) and that curve is simply not drawn. The epoch the
    trainer kept is marked: `best`, else `best_epoch(history)`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    history = list(history or [])
    x_all = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    best = best if best is not None else best_epoch(history)
    for ax, what, label in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
        drawn = False
        for split, colour, style in (("train", TRAIN, "-"), ("val", VAL, "--")):
            pts = [(x, h[f"{split}_{what}"]) for x, h in zip(x_all, history) if h.get(f"{split}_{what}") is not None]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, style, color=colour, marker="o" if len(xs) <= 30 else None, ms=4 if len(xs) > 2 else 6,
                        label="train" if split == "train" else "validation")
                drawn = True
        if not drawn:
            _no_data(ax, label)
            continue
        if what == "acc" and best is not None:
            acc = next((h.get("val_acc") for x, h in zip(x_all, history) if x == best), None)
            if acc is not None:
                ax.axvline(best, color="#999", lw=0.8, ls=":")
                right_half = len(x_all) > 1 and best > (min(x_all) + max(x_all)) / 2
                ax.annotate(f"kept: epoch {best}\nval {acc:.3f}", (best, acc), textcoords="offset points", xytext=(-4 if right_half else 4, -26),
                            ha="right" if right_half else "left", fontsize=8, color="#555")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        epoch_axis(ax, x_all)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(cm, classes: Sequence[str], title: str = "Confusion matrix", normalize: str | None = "true") -> Figure:
    """Confusion matrix: each cell shows the count and the row-normalised percentage.

    normalize="true" (default) colours cells by the row-normalised fraction, i.e. by recall per true
    class, so small classes are as visible as large ones; normalize=None colours by raw counts.
    """
    cm = _as_numpy(cm).astype(np.int64)
    k = len(classes)
    if cm.shape != (k, k):
        raise UserError(f"confusion: matrix shape {cm.shape} does not match {k} classes")
    if normalize not in ("true", None):
        raise UserError(f"confusion: normalize must be 'true' or None, got {normalize!r}")
    row = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, row, out=np.zeros(cm.shape, dtype=float), where=row > 0)
    colour = frac if normalize == "true" else cm / max(1, cm.max())
    # Sized so that cell text prints at >= 7 pt: the report shows this figure at confusion_width(k) of a
    # 7.1-inch page, so a wider figure would be shrunk and its 9-pt numbers would print at 4 pt (issue #16).
    side = min(9.0, 2.6 + 0.4 * k)
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    im = ax.imshow(colour, cmap="Blues", vmin=0, vmax=1)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label("fraction of the true class" if normalize == "true" else "count / max count")
    size = 9 if k <= 12 else 7
    if k <= 25:  # beyond that the numbers would be unreadable: colours only
        for i in range(k):
            for j in range(k):
                if cm[i, j] == 0:  # a plain grey 0 keeps the eye on the cells that matter
                    ax.text(j, i, "0", ha="center", va="center", fontsize=size, color="#aaa")
                    continue
                txt = f"{cm[i, j]:,}\n{100 * frac[i, j]:.1f}%"
                ax.text(j, i, txt, ha="center", va="center", fontsize=size, color="white" if colour[i, j] > 0.55 else "#222")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(classes, rotation=45 if max(len(c) for c in classes) > 3 else 0, ha="right" if max(len(c) for c in classes) > 3 else "center")
    ax.set_yticklabels(classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(1, cm.sum())
    ax.set_title(f"{title}\n(n = {cm.sum():,}, accuracy {acc:.4f}; cells: count and % of the row)", fontsize=10)
    fig.tight_layout()
    return fig


def confusion_width(k: int) -> float:
    """The page fraction a k-class confusion matrix is shown at (used by every report that shows one)."""
    return min(0.85, 0.5 + 0.035 * k)


def roc(y_true, probs, classes: Sequence[str], title: str = "ROC curves (one-vs-rest)") -> Figure:
    """Per-class one-vs-rest ROC curves plus the micro and macro averages, AUC in the legend."""
    r = roc_curves(y_true, probs, classes)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(7.5 if k <= 10 else 9, 6))
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    for c, name in enumerate(classes):
        v = r["per_class"][str(name)]
        if v["fpr"]:
            ax.plot(v["fpr"], v["tpr"], lw=1, color=cmap(c % cmap.N), alpha=0.8, label=f"{name} (AUC {v['auc']:.3f})")
        else:
            ax.plot([], [], lw=1, color=cmap(c % cmap.N), label=f"{name} (AUC n/a: absent)")
    for key, style, colour in (("micro", "--", "black"), ("macro", ":", "#d62728")):
        v = r[key]
        if v["fpr"]:
            ax.plot(v["fpr"], v["tpr"], style, lw=2.2, color=colour, label=f"{key}-average (AUC {v['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="lower right" if k <= 10 else "center left", bbox_to_anchor=None if k <= 10 else (1.02, 0.5))
    fig.tight_layout()
    return fig


def _to_nhwc(images) -> np.ndarray:
    """uint8 NHWC / NHW, or float NCHW (torch layout) → float NHWC in [0, 1]."""
    a = _as_numpy(images)
    if a.ndim == 3:  # N, H, W grayscale
        a = a[..., None]
    if a.ndim != 4:
        raise UserError(f"image_grid: expected images of shape (N, H, W[, C]) or (N, C, H, W), got {a.shape}")
    if a.shape[1] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(0, 2, 3, 1)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    if a.size and (a.min() < 0 or a.max() > 1):
        # normalised tensors (mean/std): stretch each image to [0, 1] so it is at least visible
        lo = a.min(axis=(1, 2, 3), keepdims=True)
        hi = a.max(axis=(1, 2, 3), keepdims=True)
        a = (a - lo) / np.maximum(hi - lo, 1e-12)
    return a


def image_grid(images, titles: Sequence[str] | None = None, ncols: int = 8, cmap: str | None = None,
               title: str = "", title_colors: Sequence[str] | None = None, cell: float = 1.3) -> Figure:
    """A grid of images with optional per-image titles (e.g. "true 3 / pred 5"), coloured with
    `title_colors` (e.g. green for correct, red for wrong)."""
    a = _to_nhwc(images)
    n = len(a)
    if n == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        _no_data(ax, "images")
        return fig
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    extra = 0.25 if titles is not None else 0
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, (cell + extra) * nrows + (0.4 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        img = a[i]
        if img.shape[-1] == 1:
            ax.imshow(img[..., 0], cmap=cmap or "gray", vmin=0, vmax=1)
        else:
            ax.imshow(img)
        if titles is not None and i < len(titles):
            col = title_colors[i] if title_colors is not None and i < len(title_colors) else "black"
            ax.set_title(str(titles[i]), fontsize=7, color=col)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def bar(labels: Sequence[str], values: Sequence[float], title: str = "", ylabel: str = "", annotate: bool = True,
        horizontal: bool | None = None, fmt: str = "{:.3g}") -> Figure:
    """A bar chart with the value written on each bar; horizontal when labels are long or many."""
    labels = [str(x) for x in labels]
    values = [float(v) for v in values]
    if horizontal is None:
        horizontal = len(labels) > 8 or max((len(x) for x in labels), default=0) > 10
    if horizontal:
        fig, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * len(labels)))
        bars = ax.barh(labels, values, color=TRAIN)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(labels) + 1.5), 3.8))
        bars = ax.bar(labels, values, color=TRAIN)
        ax.set_ylabel(ylabel)
    if annotate:
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8, padding=2)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x" if horizontal else "y")
    fig.tight_layout()
    return fig


def lines(x, series: dict, title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False, logy: bool = False) -> Figure:
    """Several named series over a shared x (e.g. loss vs step for several optimizers)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = _as_numpy(x)
    for name, ys in series.items():
        ys = _as_numpy(ys)
        ax.plot(x[: len(ys)], ys, label=str(name), marker="o" if len(ys) <= 20 else None, ms=3)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if "epoch" in xlabel and not logx:  # whole epochs: integer ticks, room around one or two points
        epoch_axis(ax, list(x))
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
