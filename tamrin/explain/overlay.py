"""From maps to pictures: bilinear upsampling, normalisation (per image, or one scale shared by a
batch so that maps can be compared), colour-map overlays with a colour bar, and figure grids.
matplotlib is imported inside the drawing functions, so the methods themselves never need it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["upsample", "normalize", "to_display", "overlay", "gradient_image", "grid_figure"]


def upsample(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(N, h, w) -> (N, H, W), bilinear with align_corners=False (pixel centres line up)."""
    return F.interpolate(maps[:, None].float(), size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def normalize(maps, shared: bool = False) -> np.ndarray:
    """Min-max to [0, 1]: per image (shared=False; each map uses its full colour range) or with the
    batch's min and max (shared=True; colours mean the same value in every image). Flat maps -> 0."""
    m = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    m = m.astype(np.float64)
    axes = None if shared else tuple(range(1, m.ndim))
    lo = m.min(axis=axes, keepdims=True)
    span = m.max(axis=axes, keepdims=True) - lo
    return np.where(span > 0, (m - lo) / np.where(span > 0, span, 1), 0.0)


def to_display(images) -> np.ndarray:
    """(N, C, H, W) tensor (any range) or (N, H, W, C) uint8 -> (N, H, W, 3) floats in [0, 1]."""
    if isinstance(images, torch.Tensor):
        x = images.detach().cpu().float().numpy().transpose(0, 2, 3, 1)
        x = normalize(x)  # per image: undoes any mean/std normalisation for display
    else:
        x = np.asarray(images)
        x = x / 255.0 if x.dtype == np.uint8 else normalize(x)
        if x.ndim == 3:
            x = x[..., None]
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x[..., :3]


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map in [0, 1] (H, W) over an RGB image in [0, 1] (H, W, 3)."""
    import matplotlib

    colours = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    return np.clip((1 - alpha) * image + alpha * colours, 0, 1)


def gradient_image(grads, shared: bool = False) -> np.ndarray:
    """Guided gradients (N, C, H, W) -> (N, H, W, 3) in [0, 1] with 0 at mid grey, one scale per image
    (or one for the batch with shared=True)."""
    g = grads.detach().cpu().float().numpy().transpose(0, 2, 3, 1)
    scale = np.abs(g).max(axis=None if shared else (1, 2, 3), keepdims=True)
    g = 0.5 + 0.5 * g / np.where(scale > 0, scale, 1)
    return np.repeat(g, 3, axis=-1) if g.shape[-1] == 1 else g[..., :3]


def grid_figure(images, rows: Sequence[tuple], col_titles: Sequence[str] | None = None, shared: bool = False,
                cmap: str = "jet", title: str | None = None, cell: float = 1.6):
    """A figure with the input images in the first row and one row per method.

    rows: (row title, data) with data either (N, H, W) heat maps (overlaid, with a colour bar) or
    (N, C, H, W) guided gradients (shown as images). shared=True puts all heat maps of a row on one
    scale (the colour bar then shows the raw map values)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    disp = to_display(images)
    n = len(disp)
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(cell * n + 1.2, cell * (1 + len(rows))), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(disp[j])
        if col_titles is not None:
            axes[0, j].set_title(col_titles[j], fontsize=7)
    for i, (name, data) in enumerate(rows, start=1):
        data = data.detach().cpu() if isinstance(data, torch.Tensor) else torch.as_tensor(np.asarray(data))
        if data.dim() == 4:
            pics = gradient_image(data, shared)
            for j in range(n):
                axes[i, j].imshow(pics[j])
        else:
            heat = normalize(data, shared=shared)
            for j in range(n):
                axes[i, j].imshow(overlay(disp[j], heat[j], cmap=cmap))
            lo, hi = (float(data.min()), float(data.max())) if shared else (0.0, 1.0)
            sm = plt.cm.ScalarMappable(norm=matplotlib.colors.Normalize(lo, hi if hi > lo else lo + 1), cmap=cmap)
            cb = fig.colorbar(sm, ax=list(axes[i]), fraction=0.02, pad=0.01)
            cb.ax.tick_params(labelsize=6)
            cb.set_label("map value" if shared else "per-image scale", fontsize=6)
        axes[i, 0].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9, y=1.0 + 0.12 / (1 + len(rows)))  # above the column titles
    return fig
