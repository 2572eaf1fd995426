"""A fast CIFAR-10 CNN after the published airbench ideas (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds").

Layout (widths at width_mult=1: 64-256-256, as airbench94):

    whiten: 2x2 conv 3 -> 24, its weights fixed to the ZCA-like eigen-patches of the training images
    3 x [3x3 conv -> 2x2 max-pool -> BN -> GELU -> 3x3 conv -> BN -> GELU]      32 -> 16 -> 8 -> 4
    3x3 max-pool -> linear (no bias), logits scaled by 1/9

Why each piece (the reasons airbench's write-up gives; re-implemented here, none of its code is used, not ablated here):
- The whitening layer starts the network with decorrelated, unit-variance 2x2 patches (and their negatives,
  so a ReLU-like unit keeps both signs); it needs no training and saves the epochs a first layer spends
  learning edge detectors. `init_whitening(x)` computes it from training images; until then it is a random
  conv, so the model also works without the data-dependent init.
- Pooling right after the first conv of a block halves the cost of the second conv (4x fewer positions).
- Identity ("dirac") init of every 3x3 conv's first input channels lets a deep plain net start as a shallow
  one: signals pass through unchanged at step 0.
- BatchNorm without a learned scale (weight fixed at 1) and a fast running-average momentum: the scale is
  redundant before GELU + the next conv, and a frozen scale lets the bias take a higher learning rate
  (`param_groups`), airbench's "scaled BN-bias learning rate".
- The 1/9 logit scale keeps the initial softmax soft, so label smoothing and a high learning rate are stable.
"""
from __future__ import annotations

import torch
from torch import nn

from tamrin.models.base import ClassifierBase
from tamrin.models.registry import register_model

__all__ = ["FastCNN", "whitening_filters"]


class _BN(nn.BatchNorm2d):
    def __init__(self, c: int, momentum: float = 0.4):  # PyTorch momentum = weight of the new batch
        super().__init__(c, momentum=momentum, eps=1e-12)
        self.weight.requires_grad_(False)


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = _BN(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = _BN(cout)
        self.act = nn.GELU()
        for conv in (self.conv1, self.conv2):  # identity init of the first min(cin, cout) channels
            w = conv.weight.data
            k = min(w.shape[0], w.shape[1])
            torch.nn.init.dirac_(w[:k])

    def forward(self, x):
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


def whitening_filters(x: torch.Tensor, eps: float = 5e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight 24x3x2x2, bias 24) of the 2x2 whitening conv from images x (N, 3, H, W).

    The 12 eigenvectors of the 2x2-patch covariance, each divided by sqrt(eigenvalue + eps), and their
    negatives; the bias centres the patches (the filters applied to the mean patch give -bias).
    """
    c = x.shape[1]
    patches = x.float().unfold(2, 2, 1).unfold(3, 2, 1)  # N, C, H-1, W-1, 2, 2
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * 4).double()
    mean = patches.mean(0)
    cov = torch.cov((patches - mean).T)
    evals, evecs = torch.linalg.eigh(cov)  # ascending
    w = (evecs.T / torch.sqrt(evals + eps)[:, None]).flip(0)  # strongest patterns first
    w = torch.cat([w, -w]).float()
    b = -(w.double() @ mean).float()
    return w.reshape(-1, c, 2, 2), b


@register_model("fast_cnn")
class FastCNN(ClassifierBase):
    def __init__(self, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32,
                 widths: tuple[int, int, int] = (64, 256, 256), in_channels: int = 3):
        super().__init__()
        w1, w2, w3 = (max(8, int(round(w * width_mult))) for w in widths)
        self.num_classes, self.width_mult, self.input_size = num_classes, width_mult, input_size
        self.num_features = w3
        self.whiten = nn.Conv2d(in_channels, 4 * 2 * in_channels, 2, padding=0, bias=True)
        self.act = nn.GELU()
        self.block1 = _Block(self.whiten.out_channels, w1)
        self.block2 = _Block(w1, w2)
        self.block3 = _Block(w2, w3)
        self.pool = nn.AdaptiveMaxPool2d(1)  # the 3x3 max-pool over the last 3x3 / 4x4 map, at any input size
        self.head = nn.Linear(w3, num_classes, bias=False)
        self.scale = 1 / 9
        self.whitened = False

    @torch.no_grad()
    def init_whitening(self, x: torch.Tensor) -> None:
        """Fix the first layer to the whitening filters of images x (normalised like the training data)."""
        w, b = whitening_filters(x[:5000])
        self.whiten.weight.copy_(w)
        self.whiten.bias.copy_(b)
        self.whiten.weight.requires_grad_(False)  # fixed; its bias keeps learning (param_groups)
        self.whitened = True

    def param_groups(self, lr: float, weight_decay: float, bias_lr_scale: float = 64.0) -> list[dict]:
        """Optimizer groups: weights with decay; BN and whitening biases at bias_lr_scale x the rate.

        Decay on a bias group is divided by the same factor, so lr x decay (the shrink per step) is the same
        for both groups, as in airbench.
        """
        biases = [p for n, p in self.named_parameters() if p.requires_grad and n.endswith("bias")]
        weights = [p for n, p in self.named_parameters() if p.requires_grad and not n.endswith("bias")]
        return [dict(params=weights, lr=lr, weight_decay=weight_decay),
                dict(params=biases, lr=lr * bias_lr_scale, weight_decay=weight_decay / bias_lr_scale)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.block3(self.block2(self.block1(self.act(self.whiten(x)))))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.pool(x), 1)
        return x if pre_logits else self.head(x) * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
