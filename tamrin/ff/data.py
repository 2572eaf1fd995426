"""MNIST as flat tensors for FF: train / validation / test, plus a cap for quick runs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class FlatData:
    x_tr: torch.Tensor  # (N, 784) float in [0, 1]
    y_tr: torch.Tensor
    x_va: torch.Tensor
    y_va: torch.Tensor
    x_te: torch.Tensor
    y_te: torch.Tensor
    shape: tuple  # (H, W) of one image
    source: str
    n_train_total: int  # training images before the validation split

    def to(self, device) -> "FlatData":
        """All tensors on `device` (labels too: they index and compare with device tensors)."""
        mv = {k: getattr(self, k).to(device) for k in ("x_tr", "y_tr", "x_va", "y_va", "x_te", "y_te")}
        return FlatData(**mv, shape=self.shape, source=self.source, n_train_total=self.n_train_total)


def pick_device(name: str):
    """"auto" = CUDA when available, else CPU; "cuda" without a GPU is a user error."""
    import torch

    from tamrin.errors import UserError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device: 'cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise UserError(f"device: {name!r} is not one of 'auto', 'cpu', 'cuda'")
    return torch.device(name)


def _cap(idx: np.ndarray, labels: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """A random subset (fixed by `seed`) of at most `cap` indices; 0 = all."""
    if not cap or cap >= len(idx):
        return idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(idx)[:cap])


def load_flat_mnist(data_dir: str, run, val_fraction: float, seed: int, max_train: int = 0, max_test: int = 0) -> FlatData:
    """Training split -> stratified train/validation parts; the test split is only for the final numbers."""
    from tamrin.data import load_mnist, stratified_split, to_tensor

    train = load_mnist(data_dir, split="train", run=run)
    test = load_mnist(data_dir, split="test", run=run)
    idx_all = _cap(np.arange(len(train.labels)), train.labels, max_train, seed)
    tr_rel, va_rel = stratified_split(train.labels[idx_all], val_fraction=val_fraction, seed=seed)
    x_tr, y_tr = to_tensor(train, idx_all[tr_rel])
    x_va, y_va = to_tensor(train, idx_all[va_rel])
    x_te, y_te = to_tensor(test, _cap(np.arange(len(test.labels)), test.labels, max_test, seed))
    h, w = x_tr.shape[-2:]
    flat = lambda t: t.reshape(t.shape[0], -1).contiguous()  # noqa: E731
    return FlatData(flat(x_tr), y_tr, flat(x_va), y_va, flat(x_te), y_te, (h, w), train.source, len(idx_all))
