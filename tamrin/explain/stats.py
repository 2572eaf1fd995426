"""Measuring where a map points: share of its mass inside a region, and IoU of the thresholded map
with the region. These turn "the map looks right" into numbers a report can state."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["mass_in_region", "threshold_iou", "central_mask", "box_mask"]


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def mass_in_region(maps, masks) -> np.ndarray:
    """Per image: sum of the (non-negative) map inside the mask / total sum. masks: (H, W) or (N, H, W).
    A map with no mass at all gets NaN (it points nowhere), not 0."""
    m = np.clip(_np(maps).astype(np.float64), 0, None)
    r = np.broadcast_to(_np(masks).astype(bool), m.shape)
    total = m.sum(axis=(1, 2))
    inside = (m * r).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def threshold_iou(maps, masks, threshold: float = 0.5) -> np.ndarray:
    """Per image: IoU between {map >= threshold * max(map)} and the mask."""
    m = _np(maps).astype(np.float64)
    peak = m.max(axis=(1, 2), keepdims=True)
    hot = (m >= threshold * peak) & (peak > 0)
    r = np.broadcast_to(_np(masks).astype(bool), m.shape)
    inter = (hot & r).sum(axis=(1, 2))
    union = (hot | r).sum(axis=(1, 2))
    return inter / np.maximum(union, 1)


def central_mask(h: int, w: int, fraction: float = 0.5) -> np.ndarray:
    """A centred box covering `fraction` of each side (fraction 0.5 = a quarter of the area)."""
    mask = np.zeros((h, w), bool)
    bh, bw = max(1, round(h * fraction)), max(1, round(w * fraction))
    top, left = (h - bh) // 2, (w - bw) // 2
    mask[top:top + bh, left:left + bw] = True
    return mask


def box_mask(h: int, w: int, boxes) -> np.ndarray:
    """(N, H, W) masks from boxes (top, left, height, width)."""
    boxes = np.asarray(boxes, int).reshape(-1, 4)
    out = np.zeros((len(boxes), h, w), bool)
    for i, (t, l, bh, bw) in enumerate(boxes):
        out[i, t:t + bh, l:l + bw] = True
    return out
