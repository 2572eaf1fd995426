"""One Forward-Forward layer, its goodness and its local loss.

Layer: normalise the input, then linear, then ReLU. The normalisation is what makes the layers
learn something new: the previous layer's goodness is the *length* of its activity vector, so
normalising removes it and only the *direction* (the relative activities) is passed on. Without
it, layer 2 could separate positive from negative data just by reading layer 1's length.

Two normalisations are offered, both removing the length:
- "rms" (default): divide by the root mean square, so the vector has unit mean square
  (length sqrt(D)). Each input component stays O(1) whatever the width D, so the default weight
  initialisation and one learning rate suit the 784-pixel input and 2000-unit layers alike.
- "length": divide by the Euclidean length (the paper's wording); components are O(1/sqrt(D)),
  so pre-activations start sqrt(D) times smaller. It differs from "rms" only by the constant
  factor sqrt(D), which each layer's weights can absorb.

Goodness of a layer's ReLU activities h (one row per example), with θ given *per unit*
(a mean square; FFNet.threshold turns it into the layer's threshold):
- "sum" (default): g = sum_j h_j^2, the paper's definition, with threshold θ·D (D = width);
  θ = 1: a layer must push the mean square of its positive activities above 1.
- "mean": g = mean_j h_j^2 = sum / D, with threshold θ. Same decision boundary g > θ, but the
  softplus argument is D times smaller: a much softer loss. On the MNIST validation split it
  learned far more slowly (benchmarks/results/ff_tuning.json), so "sum" is the default.
With N(0, 1/fan_in) weights and a unit-mean-square input the initial mean square is about 0.5,
so training starts close to θ = 1 in both cases.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("rms", "length")
GOODNESS = ("mean", "sum")


def normalise(x: torch.Tensor, mode: str = "rms", eps: float = 1e-8) -> torch.Tensor:
    """Remove each row's length (see module docstring)."""
    if mode == "rms":
        return x / (x.pow(2).mean(dim=1, keepdim=True).sqrt() + eps)
    if mode == "length":
        return x / (x.norm(dim=1, keepdim=True) + eps)
    raise ValueError(f"unknown normalisation {mode!r}; choose one of {NORMS}")


def goodness(h: torch.Tensor, kind: str = "mean") -> torch.Tensor:
    """(N, D) activities -> (N,) goodness: sum or mean of squares."""
    if kind == "sum":
        return h.pow(2).sum(dim=1)
    if kind == "mean":
        return h.pow(2).mean(dim=1)
    raise ValueError(f"unknown goodness {kind!r}; choose one of {GOODNESS}")


def ff_loss(g_pos: torch.Tensor, g_neg: torch.Tensor, theta: float) -> torch.Tensor:
    """mean(log(1 + exp([θ - g_pos, g_neg - θ]))), written with softplus for numerical safety.

    Why it satisfies the goodness conditions: softplus(z) is increasing in z and tends to 0 only
    as z -> -inf. The positive terms softplus(θ - g_pos) decrease as g_pos grows, so minimising
    pushes positive goodness *above* θ; the negative terms softplus(g_neg - θ) decrease as g_neg
    falls, pushing negative goodness *below* θ. Equivalently, with p = sigmoid(g - θ) read as
    "probability that the input is positive", it is the binary cross-entropy -log p (positive)
    and -log(1 - p) (negative): minimal exactly when positives have high and negatives low goodness.
    """
    return F.softplus(torch.cat([theta - g_pos, g_neg - theta])).mean()


class FFLayer(nn.Module):
    """normalise -> linear -> ReLU. The input is detached: no gradient ever flows to earlier layers."""

    def __init__(self, d_in: int, d_out: int, norm: str = "rms"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown normalisation {norm!r}; choose one of {NORMS}")
        self.norm = norm
        self.linear = nn.Linear(d_in, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(normalise(x.detach(), self.norm)))
