"""Centre loss (Wen et al., ECCV 2016) and the feature-space statistics used to compare losses.

L_C = ½ Σ_i ‖x_i − c_{y_i}‖². The centres are not learned by the optimiser but moved by their own rule
with rate α (the paper's Algorithm 1):  Δc_j = Σ_i δ(y_i = j)(c_j − x_i) / (1 + Σ_i δ(y_i = j)),
c_j ← c_j − α Δc_j, computed per mini-batch; the "1 +" keeps rare classes from jumping.
"""
from __future__ import annotations

import numpy as np
import torch


def centre_loss(features: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """½ mean_i ‖x_i − c_{y_i}‖² (mean over the batch so λ does not depend on the batch size)."""
    return 0.5 * ((features - centres[labels]) ** 2).sum(1).mean()


@torch.no_grad()
def update_centres(centres: torch.Tensor, features: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """One application of the paper's update rule, in place; returns Δc (k, d)."""
    k = centres.shape[0]
    counts = torch.bincount(labels, minlength=k).to(features.dtype)
    sums = torch.zeros_like(centres).index_add_(0, labels, features.detach())
    delta = (counts[:, None] * centres - sums) / (1 + counts[:, None])
    centres -= alpha * delta
    return delta


def class_distance_ratio(features, labels) -> dict:
    """Intra-class spread over inter-class separation (smaller = more discriminative features).

    intra: mean distance of a sample to its class mean; inter: mean distance between class means.
    """
    features, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(0) for c in classes])
    intra = float(np.mean(np.linalg.norm(features - means[np.searchsorted(classes, labels)], axis=1)))
    i, j = np.triu_indices(len(classes), 1)
    inter = float(np.mean(np.linalg.norm(means[i] - means[j], axis=1)))
    return {"intra": intra, "inter": inter, "ratio": intra / inter}
