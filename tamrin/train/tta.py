"""Test-time augmentation: average the logits of mirrored and shifted copies of each image.

Level 0: the image alone. Level 1: the image and its mirror. Level 2 (airbench's): half the weight on the
image + mirror pair, a quarter each on the pair shifted one pixel up-left and down-right (reflect-padded).
Logits, not probabilities, are averaged, as airbench does; for argmax the difference is small.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LEVELS = (0, 1, 2)


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    p = F.pad(x, (1, 1, 1, 1), mode="reflect")
    return p[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def tta_logits(model, x: torch.Tensor, level: int) -> torch.Tensor:
    """Averaged logits of model over the level's views of batch x."""
    if level not in LEVELS:
        raise ValueError(f"tta level must be one of {LEVELS}, got {level}")
    pair = lambda z: 0.5 * (model(z).float() + model(z.flip(-1)).float())  # noqa: E731
    if level == 0:
        return model(x).float()
    if level == 1:
        return pair(x)
    return 0.5 * pair(x) + 0.25 * pair(_shift(x, -1, -1)) + 0.25 * pair(_shift(x, 1, 1))
