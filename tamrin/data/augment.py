"""Batched image augmentation and normalisation as tensor ops (no per-image Python loop).

`augment(x, generator)` is the signature `tamrin.train.fit` expects: it runs on every training batch and
draws all randomness from the given torch.Generator, so a resumed run sees the same augmentations.
"""
from __future__ import annotations

import torch

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "normalize", "random_crop", "random_flip", "crop_flip", "resize", "AlternatingCropFlip"]

# Per-channel statistics of the 50,000 CIFAR-10 training images (pixels in [0, 1]). The std values
# 0.2023, 0.1994, 0.2010 copied across many scripts are wrong (they are not the per-pixel std of the
# training set); these are.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def normalize(x: torch.Tensor, mean=CIFAR10_MEAN, std=CIFAR10_STD) -> torch.Tensor:
    """(x - mean) / std per channel for an (N, C, H, W) batch."""
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 4, mode: str = "constant") -> torch.Tensor:
    """Pad by `padding` (zeros, or mode="reflect") and take a random HxW window per image (the CIFAR crop).

    On normalised inputs the zero padding is the mean colour. Implemented with one gather: image i's
    rows are oy[i] + 0..H-1 and its columns ox[i] + 0..W-1 of the padded batch.
    """
    n, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (padding,) * 4, mode=mode)
    oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device)[None, :])[:, None, :, None]  # (n,1,h,1)
    cols = (ox[:, None] + torch.arange(w, device=x.device)[None, :])[:, None, None, :]  # (n,1,1,w)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[batch, chan, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability p."""
    flip = (torch.rand(x.shape[0], generator=generator) < p).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def crop_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The standard CIFAR recipe: random 32x32 crop from the 4-pixel padded image + horizontal flip."""
    return random_flip(random_crop(x, generator, 4), generator)


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of a batch to size x size (the resolution multiplier rho); antialiased when shrinking."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                                           antialias=size < x.shape[-1])


class AlternatingCropFlip:
    """Random translation by up to `padding` pixels (reflect padding) + airbench's alternating flip.

    Random flips mirror a given image in a random half of the epochs; alternating flips mirror it in every
    other epoch (which half is drawn once per image from `seed`), so over any two epochs each image is seen
    both ways: the same augmentation, less repetition. fit() passes the batch's sample indices and the
    epoch because the decision is per image and per epoch (`per_sample = True`).
    """

    per_sample = True

    def __init__(self, n: int, seed: int = 0, padding: int = 2):
        g = torch.Generator().manual_seed(seed * 7919 + 17)
        self.first = torch.rand(n, generator=g) < 0.5  # flipped in odd epochs (1, 3, ...)
        self.padding = padding

    def __call__(self, x: torch.Tensor, generator: torch.Generator, idx: torch.Tensor, epoch: int) -> torch.Tensor:
        if self.padding:
            x = random_crop(x, generator, self.padding, mode="reflect")
        flip = self.first[idx] if epoch % 2 == 1 else ~self.first[idx]
        return torch.where(flip.to(x.device).view(-1, 1, 1, 1), x.flip(3), x)
