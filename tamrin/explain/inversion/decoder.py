"""The up-convolutional decoder of Dosovitskiy & Brox (arXiv 1506.02753), scaled down for 32x32 images.

Their decoders: for a convolutional layer, a few convolutions on the feature map, then "upconvolution"
layers (each doubles the resolution) down to the image; for a fully connected layer (and the class
scores), fully connected layers to a small 4x4 map first. Leaky ReLU (slope 0.2) everywhere but the
last layer, whose output is the image itself; trained with the mean squared error in pixel space.
Here an upconvolution is a ConvTranspose2d(kernel 4, stride 2, padding 1), which exactly doubles the
side; the channel count halves as the resolution doubles, as in their networks.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.errors import UserError

__all__ = ["UpConvDecoder", "mse_per_image", "psnr"]

_SLOPE = 0.2


def _act():
    return nn.LeakyReLU(_SLOPE, inplace=True)


def _channels(side: int, out_side: int, width: float) -> int:
    """128 channels at 1/8 of the output side or less, halving per doubling of the side (times width, at least 8)."""
    steps_left = max(0, round(math.log2(max(1, out_side // max(1, side)))))
    return max(8, int(round(min(128, 16 * 2 ** steps_left) * width)))


class UpConvDecoder(nn.Module):
    """in_shape: (C, h, w) for a feature map or (D,) for a vector (class scores, a linear layer);
    out_shape: (3, H, W). forward(features) -> (N, 3, H, W) images (no output non-linearity)."""

    def __init__(self, in_shape, out_shape=(3, 32, 32), width: float = 1.0, convs: int = 1):
        super().__init__()
        in_shape, out_shape = tuple(int(s) for s in in_shape), tuple(int(s) for s in out_shape)
        if len(in_shape) not in (1, 3) or len(out_shape) != 3 or min(in_shape + out_shape) < 1:
            raise UserError(f"decoder: features must be (C, h, w) or (D,) and the image (C, H, W), got {in_shape} -> {out_shape}")
        if width <= 0:
            raise UserError(f"decoder width must be positive, got {width}")
        self.in_shape, self.out_shape = in_shape, out_shape
        out_side = max(out_shape[1:])
        layers: list[nn.Module] = []
        if len(in_shape) == 1:  # vector: fully connected layers to a 4x4 map (their fc decoders)
            side = min(4, out_side)
            c = _channels(side, out_side, width)
            hidden = max(64, 2 * c)
            layers += [nn.Linear(in_shape[0], hidden), _act(), nn.Linear(hidden, c * side * side), _act(),
                       nn.Unflatten(1, (c, side, side))]
        else:
            side = max(in_shape[1:])
            c = _channels(side, out_side, width)
            layers += [nn.Conv2d(in_shape[0], c, 3, padding=1), _act()]
        for _ in range(convs - 1 if len(in_shape) == 3 else 0):
            layers += [nn.Conv2d(c, c, 3, padding=1), _act()]
        while side < out_side:  # upconvolutions: each doubles the side
            c_next = _channels(2 * side, out_side, width)
            layers += [nn.ConvTranspose2d(c, c_next, 4, stride=2, padding=1), _act()]
            side, c = 2 * side, c_next
        layers.append(nn.Conv2d(c, out_shape[0], 3, padding=1))
        self.net = nn.Sequential(*layers)
        self.upconvs = sum(isinstance(m, nn.ConvTranspose2d) for m in self.net)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if tuple(feats.shape[1:]) != self.in_shape:
            raise UserError(f"decoder built for features of shape {self.in_shape}, got {tuple(feats.shape[1:])}")
        out = self.net(feats)
        if tuple(out.shape[2:]) != self.out_shape[1:]:  # a side that is not the map's side times a power of 2
            out = F.interpolate(out, size=self.out_shape[1:], mode="bilinear", align_corners=False)
        return out


def mse_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image pair (N,), in the images' own units."""
    return (a.float() - b.float()).pow(2).flatten(1).mean(1)


def psnr(mse, peak: float = 1.0):
    """Peak signal-to-noise ratio in dB, 10 log10(peak^2 / MSE), for pixels in [0, peak]."""
    mse = torch.as_tensor(mse, dtype=torch.float64)
    return 10 * torch.log10(peak ** 2 / mse.clamp_min(1e-12))
