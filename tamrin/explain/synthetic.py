"""A task whose class evidence sits in a known place, to check explanations against the truth.

Each 1x32x32 image is noise plus two objects at random, non-overlapping places:
- the evidence: a 10x10 patch of horizontal stripes, vertical stripes or a checkerboard (the class);
- a distractor: a bright solid 8x8 square, the same in every class (salient but uninformative).
A network that classifies well must look at the patch, so its class map should cover the patch's
box (returned as a mask) and not the distractor. Also a small GAP CNN and a seconds-long trainer.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

__all__ = ["CLASSES", "make_localized", "TinyGapCNN", "train_quick", "accuracy"]

CLASSES = ["horizontal", "vertical", "checker"]
SIZE, PATCH, DISTRACTOR = 32, 10, 8


def _pattern(cls: int) -> np.ndarray:
    i, j = np.mgrid[0:PATCH, 0:PATCH]
    if cls == 0:
        return ((i // 2) % 2).astype(np.float32)
    if cls == 1:
        return ((j // 2) % 2).astype(np.float32)
    return (((i // 2) + (j // 2)) % 2).astype(np.float32)


def _place(rng, size: int, taken: tuple | None) -> tuple[int, int]:
    """Top-left corner of a box that does not overlap `taken` (top, left, size)."""
    while True:
        t, l = rng.integers(0, SIZE - size + 1, 2)
        if taken is None:
            return int(t), int(l)
        tt, tl, ts = taken
        if t + size <= tt or tt + ts <= t or l + size <= tl or tl + ts <= l:
            return int(t), int(l)


def make_localized(n: int, seed: int = 0, noise: float = 0.15, with_distractor: bool = False):
    """(x (n,1,32,32) float32, y (n,) int64, masks (n,32,32) bool of the evidence patch), plus the
    distractor squares' masks when with_distractor=True."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, noise, size=(n, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, len(CLASSES), n)
    masks = np.zeros((n, SIZE, SIZE), bool)
    distractors = np.zeros((n, SIZE, SIZE), bool)
    patterns = [_pattern(c) for c in range(len(CLASSES))]
    for k in range(n):
        t, l = _place(rng, PATCH, None)
        x[k, 0, t:t + PATCH, l:l + PATCH] = patterns[y[k]] + rng.normal(0, noise, (PATCH, PATCH))
        masks[k, t:t + PATCH, l:l + PATCH] = True
        dt, dl = _place(rng, DISTRACTOR, (t, l, PATCH))
        x[k, 0, dt:dt + DISTRACTOR, dl:dl + DISTRACTOR] = 1.0
        distractors[k, dt:dt + DISTRACTOR, dl:dl + DISTRACTOR] = True
    out = (torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)), masks)
    return out + (distractors,) if with_distractor else out


class TinyGapCNN(nn.Module):
    """(conv-BN-ReLU) x3 with one max-pool, global average pooling, one linear layer: CAM applies.
    The last feature map is 16x16 for a 32x32 input, fine enough to localise a 10x10 patch."""

    def __init__(self, in_channels: int = 1, num_classes: int = 3, width: int = 16):
        super().__init__()
        self.model_spec = {"name": "tamrin.explain.synthetic:TinyGapCNN",
                           "kwargs": {"in_channels": in_channels, "num_classes": num_classes, "width": width}}
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def train_quick(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 4, lr: float = 3e-3,
                batch_size: int = 64, seed: int = 0, log=None) -> nn.Module:
    """Plain Adam loop with a fixed seed (a few seconds for ~1,500 images on one CPU thread)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if log is not None:
            log(epoch=epoch + 1, train_loss=total / len(x))
    model.eval()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())
