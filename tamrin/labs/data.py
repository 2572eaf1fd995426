"""The labs' data: MNIST's 3,009-image training subset (embedded digits as fallback), made small.

Pooling 28×28 → 14×14 keeps the digits readable and makes every micro-experiment ~4× cheaper, which
is what lets the labs run dozens of trainings in a minute on a shared 2-core CPU.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tamrin.data import load_mnist, stratified_split, to_tensor


def small_mnist(data_dir: str = "", run=None, size: int = 14, limit: int = 0, seed: int = 0, split: str = "train"):
    """(x, y, dataset): x float32 (N, 1, size, size) standardised with its own mean/std, y int64 (N,).

    `limit` keeps a stratified subset of that many images (0 = all).
    """
    ds = load_mnist(data_dir, split, run=run)
    if limit and limit < len(ds.labels):
        keep, _ = stratified_split(ds.labels, 1 - limit / len(ds.labels), seed)
        ds = ds.subset(np.sort(keep))
    x, y = to_tensor(ds)
    if x.shape[-1] != size:
        x = F.adaptive_avg_pool2d(x, size)
    x = (x - x.mean()) / x.std()
    return x.contiguous(), y, ds


def train_val(x, y, val_fraction: float = 0.2, seed: int = 0):
    """Stratified train/validation tensors ((x_tr, y_tr), (x_va, y_va))."""
    tr, va = stratified_split(y.numpy(), val_fraction, seed)
    tr, va = torch.from_numpy(np.sort(tr)), torch.from_numpy(np.sort(va))
    return (x[tr], y[tr]), (x[va], y[va])
