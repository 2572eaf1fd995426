"""Data that needs neither internet nor files: the stand-ins used when the real data set is missing.

* `embedded_digits()`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, values 0..16),
  upsampled so that MNIST models run on them unchanged: each digit is scaled to 0..255, resized to
  20x20 with bilinear interpolation and centred in a 28x28 black frame -- the same layout as MNIST,
  whose digits sit in a 20x20 box inside 28x28. They are blurrier than MNIST and there are far fewer,
  so accuracies are not comparable to MNIST numbers; reports say so through `is_fallback`.
* `synthetic_images(...)`: a procedurally generated image-classification set for CNN experiments.
"""
from __future__ import annotations

import numpy as np

from tamrin.errors import UserError

from .dataset import ArrayDataset, stratified_split

__all__ = ["embedded_digits", "synthetic_images", "SYNTHETIC_CLASSES"]

# The embedded digits have no official test split: a fixed stratified quarter plays that role.
_DIGITS_TEST_FRACTION = 0.25


def embedded_digits(split: str | None = None) -> ArrayDataset:
    """sklearn's 8x8 digits as 28x28x1 uint8 MNIST look-alikes; split None = all, "train"/"test" = 75%/25%."""
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = np.clip(np.round(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images = np.zeros((len(small), 28, 28, 1), np.uint8)
    for i, im in enumerate(small):
        images[i, 4:24, 4:24, 0] = np.asarray(Image.fromarray(im, "L").resize((20, 20), Image.Resampling.BILINEAR))
    labels = bunch.target.astype(np.int64)
    ds = ArrayDataset(images, labels, [str(d) for d in range(10)],
                      source="embedded scikit-learn 8x8 digits upsampled to 28x28")
    if split is None:
        return ds
    if split not in ("train", "test"):
        raise UserError(f"unknown split {split!r}; choose 'train' or 'test'")
    tr, te = stratified_split(labels, _DIGITS_TEST_FRACTION, seed=0)
    part = ds.subset(tr if split == "train" else te)
    part.source = f"{ds.source} ({split} part: {len(part)} of {len(ds)})"
    return part


# --- synthetic shapes and gratings -----------------------------------------------------------------
# Each class is a pattern drawn on a normalised grid (u, v) in [-1, 1]^2 after a random rotation, scale
# and shift; colours, contrast, a background gradient and pixel noise are random per image, so neither
# colour nor mean brightness identifies the class: a model has to learn shape and orientation.

def _disk(u, v, r):
    return r < 0.5


def _square(u, v, r):
    return np.maximum(np.abs(u), np.abs(v)) < 0.42


def _ring(u, v, r):
    return (r > 0.32) & (r < 0.58)


def _cross(u, v, r):
    return ((np.abs(u) < 0.14) & (np.abs(v) < 0.62)) | ((np.abs(v) < 0.14) & (np.abs(u) < 0.62))


def _triangle(u, v, r):
    return (v > -0.5) & (v < 0.45) & (np.abs(u) < 0.6 * (v + 0.5))


def _grating(angle):
    c, s = np.cos(angle), np.sin(angle)

    def draw(u, v, r):
        return (np.sin(9.0 * (c * u + s * v)) > 0) & (r < 0.75)
    return draw


def _two_blobs(u, v, r):
    return ((u - 0.38) ** 2 + v ** 2 < 0.07) | ((u + 0.38) ** 2 + v ** 2 < 0.07)


def _checker(u, v, r):
    return ((np.floor(u * 3.2) + np.floor(v * 3.2)) % 2 == 0) & (np.maximum(np.abs(u), np.abs(v)) < 0.65)


# (name, drawing function, allowed rotation in radians): gratings keep their orientation (it is the
# class), symmetric shapes may rotate freely.
_PATTERNS = [
    ("disk", _disk, np.pi), ("square", _square, np.pi / 4), ("ring", _ring, np.pi), ("cross", _cross, np.pi / 4),
    ("triangle", _triangle, np.pi / 8), ("grating-0", _grating(0.0), np.pi / 14),
    ("grating-60", _grating(np.pi / 3), np.pi / 14), ("grating-120", _grating(2 * np.pi / 3), np.pi / 14),
    ("two-blobs", _two_blobs, np.pi / 10), ("checker", _checker, np.pi / 12),
]
SYNTHETIC_CLASSES = [p[0] for p in _PATTERNS]


def synthetic_images(n: int = 5000, size: int = 32, num_classes: int = 10, channels: int = 3, seed: int = 0,
                     noise: float = 0.1) -> ArrayDataset:
    """`n` images (size x size x channels, uint8) of `num_classes` balanced procedural classes.

    Classes: disk, square, ring, cross, triangle, three grating orientations, two blobs, checkerboard
    (the first `num_classes` of them). Random pose, colours, background gradient and Gaussian noise of
    standard deviation `noise` (in [0, 1] units) make it learnable but not trivial: a linear model does
    clearly worse than a small CNN. Same arguments -> same images.
    """
    if not 2 <= num_classes <= len(_PATTERNS):
        raise UserError(f"num_classes must be between 2 and {len(_PATTERNS)}, got {num_classes}")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3, got {channels}")
    if n < 1 or size < 8:
        raise UserError(f"need n >= 1 and size >= 8, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % num_classes
    rng.shuffle(labels)
    grid = (np.arange(size) + 0.5) / size * 2 - 1
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    out = np.empty((n, size, size, channels), np.uint8)
    for i in range(n):  # a loop keeps the code readable; 50,000 32x32 images take a few seconds
        name, draw, max_rot = _PATTERNS[labels[i]]
        theta = rng.uniform(-max_rot, max_rot)
        scale = rng.uniform(0.7, 1.25)
        dx, dy = rng.uniform(-0.25, 0.25, 2)
        x, y = (gx - dx) / scale, (gy - dy) / scale
        u = np.cos(theta) * x + np.sin(theta) * y
        v = -np.sin(theta) * x + np.cos(theta) * y
        mask = draw(u, v, np.hypot(u, v)).astype(np.float32)
        bg = rng.uniform(0.1, 0.9, channels)
        # the shape is brighter or darker than the background in every channel (a clear luminance edge,
        # as in photos) by a random amount per channel (so its hue is random too)
        fg = np.clip(bg + rng.choice([-1, 1]) * rng.uniform(0.3, 0.6, channels), 0, 1)
        gradient = rng.uniform(-0.15, 0.15) * gx + rng.uniform(-0.15, 0.15) * gy
        img = bg + mask[..., None] * (fg - bg) + gradient[..., None] + rng.normal(0, noise, (size, size, channels))
        out[i] = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return ArrayDataset(out, labels.astype(np.int64), SYNTHETIC_CLASSES[:num_classes],
                        source=f"synthetic shapes and gratings ({n} images, {size}x{size}x{channels}, seed {seed})")
