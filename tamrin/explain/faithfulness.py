"""Two numbers for a saliency method, beyond looking at its maps.

- Class specificity: the Pearson correlation, per image, between the maps of two *different* target
  classes. A map that explains "why class c" should change with c; a correlation near 1 means the map
  shows the image (its edges) rather than the class (Springenberg et al. note this of the deconvnet).
- Deletion curve (Samek et al. 2017; Petsiuk et al. 2018): accuracy as the most salient pixels are
  removed (set to a fill value, here the data mean), against removing random pixels. A map that finds
  the evidence the network uses makes accuracy fall faster than random removal. Removing single pixels
  at random scatters holes over the whole image, which hurts a CNN more than the same number of pixels
  removed in clusters; removing squares (patch > 1) gives the random baseline the same shape of hole.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tamrin.errors import UserError
from tamrin.train import predict

__all__ = ["map_correlation", "other_class", "remove_top", "deletion_curve", "curve_area"]


def map_correlation(a, b) -> np.ndarray:
    """Per image (N,): Pearson correlation of two (N, H, W) maps; NaN when a map is constant."""
    a = (a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)).reshape(len(a), -1).astype(np.float64)
    b = (b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)).reshape(len(b), -1).astype(np.float64)
    if a.shape != b.shape:
        raise UserError(f"maps to correlate differ in shape: {a.shape} vs {b.shape}")
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1), np.nan)


def other_class(targets: torch.Tensor, num_classes: int, seed: int = 0) -> torch.Tensor:
    """A class different from each target, drawn uniformly from the other num_classes - 1 (seeded)."""
    if num_classes < 2:
        raise UserError("class specificity needs at least 2 classes")
    gen = torch.Generator().manual_seed(seed)
    shift = torch.randint(1, num_classes, (len(targets),), generator=gen)
    return (targets.cpu() + shift) % num_classes


def remove_top(x: torch.Tensor, maps: torch.Tensor, fraction: float, fill: float = 0.0, patch: int = 1) -> torch.Tensor:
    """Copy of x (N, C, H, W) with the highest-map pixels of each image set to `fill` in every channel:
    round(fraction * H * W / patch^2) squares of patch x patch pixels, ranked by their mean map value
    (patch=1: single pixels). Ties are broken by position (stable sort), so the result is reproducible."""
    if not 0 <= fraction <= 1:
        raise UserError(f"deletion fraction must be in [0, 1], got {fraction}")
    n, _, h, w = x.shape
    if patch < 1 or h % patch or w % patch:
        raise UserError(f"deletion patch {patch} must be >= 1 and divide the image size {h}x{w}")
    gh, gw = h // patch, w // patch
    k = int(round(fraction * gh * gw))
    out = x.clone()
    if k == 0:
        return out
    score = F.avg_pool2d(maps.reshape(n, 1, h, w).float(), patch).reshape(n, -1) if patch > 1 else maps.reshape(n, -1).float()
    order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :k]
    keep = torch.ones(n, gh * gw, dtype=torch.bool)
    keep.scatter_(1, order, False)
    keep = keep.view(n, 1, gh, gw).repeat_interleave(patch, 2).repeat_interleave(patch, 3)
    return torch.where(keep, out, torch.full_like(out, fill))


def deletion_curve(model, x: torch.Tensor, y: torch.Tensor, maps: torch.Tensor, fractions, fill: float = 0.0,
                   patch: int = 1) -> list[float]:
    """Accuracy on (x, y) after removing each fraction of the most salient pixels (or patches) by `maps`."""
    y = torch.as_tensor(y)
    return [float((predict(model, remove_top(x, maps, f, fill, patch)).argmax(1) == y).float().mean()) for f in fractions]


def curve_area(fractions, values) -> float:
    """Area under a deletion curve by the trapezoid rule, divided by the fraction range: the mean
    accuracy over the removal schedule (lower = the map finds the evidence sooner)."""
    f, v = np.asarray(fractions, float), np.asarray(values, float)
    if len(f) < 2 or f[-1] <= f[0]:
        raise UserError("a deletion curve needs at least two increasing fractions")
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(f)) / (f[-1] - f[0]))
