"""Unsupervised Forward-Forward negatives: hybrid images made with blurry random masks.

Positive data are real digits. Negative data must have the same short-range statistics (local
strokes) but wrong long-range structure, so the network has to learn shapes, not pixel
statistics. Hinton's recipe: a random bit image, blurred repeatedly with [1/4, 1/2, 1/4] in both
directions and thresholded at 0.5, gives a mask with large coherent regions; the hybrid
x1 * mask + x2 * (1 - mask) glues together large pieces of two different digits.
"""
from __future__ import annotations

import torch

def blur(img: torch.Tensor, passes: int) -> torch.Tensor:
    """(B, H, W) -> blurred `passes` times with [1/4, 1/2, 1/4] horizontally, then vertically.

    Written as weighted sums of shifted copies: for a 3-tap filter this is far faster on a CPU than
    conv2d with one channel. Replicate padding keeps the border unbiased (zero padding would pull
    edge pixels towards 0 and make masks systematically 0 along the border).
    """
    x = img
    for _ in range(passes):
        p = torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2)
        x = 0.25 * p[:, :, :-2] + 0.5 * p[:, :, 1:-1] + 0.25 * p[:, :, 2:]
        p = torch.cat([x[:, :1], x, x[:, -1:]], dim=1)
        x = 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    return x


def random_masks(n: int, shape: tuple[int, int], passes: int, generator: torch.Generator) -> torch.Tensor:
    """n binary masks (n, H, W) with values in {0., 1.}."""
    bits = torch.randint(0, 2, (n, *shape), generator=generator).float()
    return (blur(bits, passes) > 0.5).float()


def mean_run_length(masks: torch.Tensor) -> float:
    """Mean length of the horizontal runs of equal values (pixels per run), over all rows.

    A random bit image has mean run length ~2; coherent regions make it much longer.
    """
    m = masks.reshape(-1, masks.shape[-1])
    changes = (m[:, 1:] != m[:, :-1]).sum()
    runs = m.shape[0] + changes  # every row starts one run, every change starts another
    return float(m.numel() / runs)


def class_sorted_index(labels: torch.Tensor):
    """Helper for different_digit_partners: (order, starts, counts) of the labels sorted by class."""
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=int(labels.max()) + 1)
    starts = torch.cumsum(counts, 0) - counts
    return order, starts, counts


def different_digit_partners(y: torch.Tensor, index, generator: torch.Generator) -> torch.Tensor:
    """For each label in y, the index of a uniformly random training image of a *different* digit.

    Draw r uniformly from the N - count[y] images of other classes (in class-sorted order) and
    skip over the block of class y: no rejection loop, and never the same digit.
    """
    order, starts, counts = index
    n_other = order.numel() - counts[y]
    if (n_other <= 0).any():
        raise ValueError("hybrids of different digits need at least two classes in the training data")
    r = (torch.rand(y.shape, generator=generator) * n_other).long().clamp(max=n_other - 1)
    j = torch.where(r < starts[y], r, r + counts[y])
    return order[j]


def different_image_partners(idx: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """For each index, a uniformly random *other* image index (label-free pairing)."""
    return (idx + torch.randint(1, n, idx.shape, generator=generator)) % n


def hybrids(x1: torch.Tensor, x2: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """x1 * mask + x2 * (1 - mask), images and masks of the same (B, H, W) shape."""
    return x1 * masks + x2 * (1.0 - masks)
