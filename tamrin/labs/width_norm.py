"""Width normalisation of digits (Cireșan, Meier, Gambardella & Schmidhuber, ICDAR 2011).

Every digit's bounding box is rescaled to a fixed width (their committee used widths 10, 12, ..., 20
pixels) while its height is kept, then re-centred on the canvas. Each width makes the same digits look
different, so networks trained on different widths make different mistakes: a better committee.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def bounding_box(img, threshold: int = 0) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive-exclusive, of pixels > threshold; None for an empty image."""
    ys, xs = np.nonzero(img > threshold)
    if len(xs) == 0:
        return None
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def normalise_width(img, width: int, threshold: int = 0) -> np.ndarray:
    """One uint8 (H, W) image with its digit's bounding box resized to `width` pixels wide (height kept),
    pasted centred on a canvas of the same size. Empty images are returned unchanged."""
    img = np.asarray(img, dtype=np.uint8)
    h, w = img.shape
    box = bounding_box(img, threshold)
    if box is None:
        return img.copy()
    t, b, l, r = box
    crop = Image.fromarray(img[t:b, l:r])
    width = int(min(width, w))
    resized = np.asarray(crop.resize((width, b - t), Image.BILINEAR))
    out = np.zeros_like(img)
    top, left = (h - (b - t)) // 2, (w - width) // 2
    out[top:top + (b - t), left:left + width] = resized
    return out


def normalise_batch(images, width: int) -> np.ndarray:
    """(N, H, W[, 1]) uint8 → the same shape with every digit width-normalised."""
    images = np.asarray(images)
    squeeze = images.ndim == 4
    flat = images[..., 0] if squeeze else images
    out = np.stack([normalise_width(im, width) for im in flat])
    return out[..., None] if squeeze else out


def box_width(img, threshold: int = 0) -> int:
    box = bounding_box(np.asarray(img), threshold)
    return 0 if box is None else box[3] - box[2]
