"""The in-memory data set every loader returns, plus splitting and conversion to PyTorch tensors."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tamrin.errors import UserError

__all__ = ["ArrayDataset", "stratified_split", "to_tensor"]


@dataclass
class ArrayDataset:
    """Images and labels held as numpy arrays.

    images: uint8 (N, H, W, C), channels last as stored on disk (C=1 grey, C=3 RGB).
    labels: int64 (N,), indices into `classes`.
    source: a human description of where the data came from (shown in reports).
    skipped: files that could not be decoded (corrupt, truncated, not an image), relative paths.
    is_fallback: True when an embedded or synthetic stand-in replaced the real data set.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    source: str = ""
    skipped: list[str] = field(default_factory=list)
    is_fallback: bool = False

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels shape {self.labels.shape} does not match {len(self.images)} images")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in [0, {len(self.classes)})")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx) -> "ArrayDataset":
        """The same data set restricted to the rows `idx` (keeps classes, source and flags)."""
        idx = np.asarray(idx)
        return ArrayDataset(self.images[idx], self.labels[idx], list(self.classes), self.source,
                            list(self.skipped), self.is_fallback)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}


def stratified_split(labels, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation indices with each class split in the same proportion, reproducible from `seed`.

    Every class with at least two examples keeps at least one in each part, so a rare class never
    vanishes from validation (model selection would silently ignore it). Indices come back sorted.
    """
    labels = np.asarray(labels)
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_val = int(round(len(idx) * val_fraction))
        if len(idx) >= 2:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def to_tensor(ds: ArrayDataset, idx=None):
    """(x, y): float32 tensor (N, C, H, W) scaled to [0, 1] and int64 labels, optionally for rows `idx`."""
    import torch  # only here: the rest of the data layer works without torch

    images, labels = (ds.images, ds.labels) if idx is None else (ds.images[np.asarray(idx)], ds.labels[np.asarray(idx)])
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float().div_(255.0)
    y = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    return x, y
