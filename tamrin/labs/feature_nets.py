"""A small CNN with a low-dimensional feature layer and three heads, for the centre-loss study.

- "softmax": a learned linear classifier on the features, cross-entropy only.
- "centre":  the same plus λ·centre loss; the class centres are a buffer (saved in checkpoints) moved by
  Wen et al.'s rule with rate α inside the loss, never by the optimiser.
- "pedcc":   the classifier weights are fixed predefined evenly-distributed centroids (unit vectors);
  features are L2-normalised, logits = s·cos(feature, centroid), plus λ·MSE(feature, own centroid).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.labs import centre as centre_mod
from tamrin.labs import pedcc

HEADS = ("softmax", "centre", "pedcc")


class FeatureNet(nn.Module):
    def __init__(self, feat_dim: int, head: str, classes: int = 10, size: int = 14, pedcc_scale: float = 10.0, seed: int = 0):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}")
        self.head_kind, self.pedcc_scale = head, pedcc_scale
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, feat_dim))
        if head == "pedcc":
            self.register_buffer("centroids", torch.tensor(pedcc.centroids(classes, feat_dim, seed), dtype=torch.float32))
        else:
            self.fc = nn.Linear(feat_dim, classes)
        if head == "centre":
            self.register_buffer("centres", torch.zeros(classes, feat_dim))
        self.last_features = None

    def features(self, x):
        f = self.body(x)
        return F.normalize(f, dim=1) if self.head_kind == "pedcc" else f

    def forward(self, x):
        f = self.features(x)
        self.last_features = f
        if self.head_kind == "pedcc":
            return self.pedcc_scale * f @ self.centroids.T
        return self.fc(f)


def make_loss(model: FeatureNet, lam: float, alpha: float):
    """loss_fn(logits, y) for tamrin.train.fit. In training mode it adds the head's feature term (and
    moves the centres); in evaluation it is plain cross-entropy, so validation losses are comparable."""

    def loss_fn(logits, y):
        ce = F.cross_entropy(logits, y)
        f = model.last_features
        if not model.training or f is None or len(f) != len(y):
            return ce
        if model.head_kind == "centre":
            loss = ce + lam * centre_mod.centre_loss(f, y, model.centres)
            centre_mod.update_centres(model.centres, f, y, alpha)
            return loss
        if model.head_kind == "pedcc":
            return ce + lam * ((f - model.centroids[y]) ** 2).sum(1).mean()
        return ce

    return loss_fn
