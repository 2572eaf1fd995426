"""Face-friendly batched augmentation: horizontal flip, small rotation, shift and zoom, brightness and contrast,
and (off by default) random erasing.

Why these and not others: a face mirrored left-right is still a plausible face with the same expression,
and small head tilts, framing offsets and lighting changes are exactly the variation between photos of
one expression. A vertical flip (an upside-down face) never occurs in the data and would teach the
network features it never needs, so there is none.

Everything is one batched tensor operation: a random 2x3 affine matrix per image (flip x rotation x zoom
+ shift) fed to `affine_grid` + `grid_sample`, then a per-image contrast and brightness change. All
randomness comes from the given torch.Generator (tamrin.train.fit passes one per epoch), so a resumed
run sees the same augmented images. Works for any channel count, any image size, pixels in [0, 1].

Random erasing (Zhong et al. 2017, "Random Erasing Data Augmentation") replaces one random rectangle per chosen
image with uniform noise: a face with a hand, hair or a shadow over part of it still shows its expression, and
the network cannot rely on any single region. It draws from the generator only when it is on, so runs without it
see exactly the images they saw before it existed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tamrin.errors import UserError

__all__ = ["FaceAugment", "affine_params", "face_augment", "random_erase"]

ERASE_MIN_AREA = 0.02  # Zhong et al.'s s_l; their s_h is 0.4, smaller here: a 48 px face loses its mouth at 40%


@dataclass
class FaceAugment:
    flip: float = 0.5         # probability of a horizontal (left-right) mirror
    rotate: float = 10.0      # max rotation in degrees, either way
    shift: float = 0.08       # max shift as a fraction of the image side, each axis
    zoom: float = 0.10        # scale drawn from [1 - zoom, 1 + zoom]
    brightness: float = 0.15  # added offset drawn from [-brightness, brightness] (pixels in [0, 1])
    contrast: float = 0.20    # contrast factor drawn from [1 - contrast, 1 + contrast]
    erase: float = 0.0        # probability of erasing one rectangle (0 = off)
    erase_area: float = 0.25  # the rectangle covers 2% to this share of the image, aspect ratio 0.3-3.3

    def validate(self):
        if not 0 <= self.flip <= 1:
            raise UserError(f"augment.flip is a probability in [0, 1], got {self.flip}")
        if not 0 <= self.rotate <= 45:
            raise UserError(f"augment.rotate must be in [0, 45] degrees (faces are upright), got {self.rotate}")
        for name in ("shift", "zoom", "brightness", "contrast"):
            if not 0 <= getattr(self, name) < 0.5:
                raise UserError(f"augment.{name} must be in [0, 0.5), got {getattr(self, name)}")
        if not 0 <= self.erase <= 1:
            raise UserError(f"augment.erase is a probability in [0, 1], got {self.erase}")
        if not ERASE_MIN_AREA <= self.erase_area <= 1:
            raise UserError(f"augment.erase_area is the largest share of the image erased, in [{ERASE_MIN_AREA}, 1], got {self.erase_area}")

    def describe(self) -> str:
        return (f"on the fly, per batch: horizontal flip with probability {self.flip:g}, rotation up to ±{self.rotate:g}°, "
                f"shift up to ±{self.shift:.0%} of the side, zoom {1 - self.zoom:g}-{1 + self.zoom:g}x, brightness ±{self.brightness:g}, "
                f"contrast {1 - self.contrast:g}-{1 + self.contrast:g}x"
                + (f", random erasing with probability {self.erase:g} (one rectangle of {ERASE_MIN_AREA:.0%}-{self.erase_area:.0%} "
                   f"of the image, filled with noise)" if self.erase else "") + "; no vertical flips")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return face_augment(x, generator, self)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def affine_params(n: int, g: torch.Generator, cfg: FaceAugment) -> torch.Tensor:
    """(n, 2, 3) matrices mapping output to input coordinates in affine_grid's [-1, 1] frame.

    The x column is multiplied by -1 for flipped images (left-right only: the y row is never negated,
    which is what makes a vertical flip impossible by construction)."""
    angle = _uniform(n, -cfg.rotate, cfg.rotate, g) * math.pi / 180
    scale = _uniform(n, 1 - cfg.zoom, 1 + cfg.zoom, g)
    tx, ty = _uniform(n, -2 * cfg.shift, 2 * cfg.shift, g), _uniform(n, -2 * cfg.shift, 2 * cfg.shift, g)  # [-1,1] spans 2
    flip = torch.where(torch.rand(n, generator=g) < cfg.flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # zoom in = sample a smaller input window
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    return theta


def face_augment(x: torch.Tensor, generator: torch.Generator, cfg: FaceAugment | None = None) -> torch.Tensor:
    """Augment an (N, C, H, W) float batch in [0, 1]; returns the same shape and dtype, values in [0, 1]."""
    cfg = cfg or FaceAugment()
    if x.dim() != 4 or not x.is_floating_point():
        raise UserError(f"face_augment needs a float (N, C, H, W) batch, got {tuple(x.shape)} {x.dtype}")
    n = x.shape[0]
    theta = affine_params(n, generator, cfg).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # border padding repeats the edge pixels: no black corners that the network could learn to notice
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    c = _uniform(n, 1 - cfg.contrast, 1 + cfg.contrast, generator).to(x.device, x.dtype).view(-1, 1, 1, 1)
    b = _uniform(n, -cfg.brightness, cfg.brightness, generator).to(x.device, x.dtype).view(-1, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = ((out - mean) * c + mean + b).clamp_(0, 1)
    return random_erase(out, generator, cfg.erase, cfg.erase_area) if cfg.erase else out


def random_erase(x: torch.Tensor, generator: torch.Generator, p: float, max_area: float = 0.25) -> torch.Tensor:
    """Each image of the (N, C, H, W) batch, with probability p, gets one rectangle of uniform noise in [0, 1]
    covering ERASE_MIN_AREA..max_area of its area (aspect ratio log-uniform in 0.3-3.3, clipped to the image)."""
    n, _, h, w = x.shape
    area = _uniform(n, ERASE_MIN_AREA, max_area, generator) * h * w
    ratio = torch.exp(_uniform(n, math.log(0.3), math.log(3.3), generator))
    eh = (area * ratio).sqrt().round().clamp(1, h)
    ew = (area / ratio).sqrt().round().clamp(1, w)
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).floor()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).floor()
    chosen = torch.rand(n, generator=generator) < p
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    box = ((rows >= top.view(-1, 1, 1)) & (rows < (top + eh).view(-1, 1, 1)) & (cols >= left.view(-1, 1, 1))
           & (cols < (left + ew).view(-1, 1, 1)) & chosen.view(-1, 1, 1))
    noise = torch.rand(x.shape, generator=generator).to(x.device, x.dtype)
    return torch.where(box.unsqueeze(1).to(x.device), noise, x)
