"""Supervised Forward-Forward data: the label is written into the image itself.

MNIST digits have a black border, so the first 10 pixels of the flattened image (the left part of
the top row) carry no information. FF overwrites them with a one-hot label: the network sees the
image *and* a claimed label, and learns to say (through its goodness) whether the claim is true.

- positive example: the image with its true label,
- negative example: the same image with a wrong label. The wrong label is drawn afresh for every
  batch in every epoch, and it is *never* the true one (a "negative" that carries the true label
  would teach the network to reject correct data).
"""
from __future__ import annotations

import torch

NUM_CLASSES = 10


def embed_label(x: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """(B, D) flattened images -> copy with a one-hot `labels` in the first `num_classes` pixels."""
    out = x.clone()
    out[:, :num_classes] = 0.0
    out[torch.arange(x.shape[0], device=x.device), labels] = 1.0
    return out


def embed_neutral(x: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """The 'neutral label' of the one-pass read-out: 1/num_classes (0.1) in each label pixel."""
    out = x.clone()
    out[:, :num_classes] = 1.0 / num_classes
    return out


def embed_all_labels(x: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """(B, D) -> (B * num_classes, D): row b * num_classes + c is image b with label c.

    Used to score every label in ONE batched forward pass instead of a Python loop over labels.
    """
    rep = x.repeat_interleave(num_classes, dim=0)
    labels = torch.arange(num_classes, device=x.device).repeat(x.shape[0])
    return embed_label(rep, labels, num_classes)


def random_wrong_labels(y: torch.Tensor, generator: torch.Generator, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """A uniformly random label different from `y`, for every row.

    Adding an offset in 1..num_classes-1 (mod num_classes) can never give back `y`, and every wrong
    label is equally likely - no rejection loop needed.
    """
    offset = torch.randint(1, num_classes, y.shape, generator=generator).to(y.device)  # CPU generator, any device
    return (y + offset) % num_classes


def hard_wrong_labels(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The wrong label the network currently finds most plausible.

    `scores` (B, num_classes) is the accumulated goodness per label; the true label is masked out
    with -inf first, so it can never be chosen, even when the network is confidently right.
    """
    masked = scores.clone()
    masked[torch.arange(y.shape[0], device=y.device), y] = float("-inf")
    return masked.argmax(dim=1)
