"""An Inception network for CIFAR-10 (after Szegedy et al. 2015, GoogLeNet, at about half its widths).

An Inception module looks at the same input at several scales in parallel and concatenates the answers
on the channel axis:
    branch 1: 1x1 conv
    branch 2: 1x1 conv (reduce) -> 3x3 conv
    branch 3: 1x1 conv (reduce) -> 3x3 -> 3x3 (two 3x3s see a 5x5 window at 18/25 of the cost, as in
              Inception-v2; the 1x1 "reduce" convs are what keep the module affordable)
    branch 4: 3x3 max-pool (stride 1) -> 1x1 conv
Every conv is followed by BN + ReLU. A 1x1 conv computes, at each pixel, a weighted sum of the input
channels: a per-pixel linear mix of feature maps (see the report's 1x1 feature-map figure).

Layout: 3x3 stem, max-pool, modules 3a 3b, max-pool, 4a 4b, max-pool, 5a 5b, global average pool, FC.
"cifar" config: stride-1 stem at 32x32, the modules at 16, 8 and 4 pixels (4x4 at the end; putting 3a/3b
at full 32x32 would cost 4x the multiply-adds); "imagenet": stride-2 stem and one more stride-2
max-pool (224 -> 7x7).
"""
from __future__ import annotations

import torch
from torch import nn

from tamrin.models.base import ClassifierBase, conv_bn_act
from tamrin.models.mobilenet_v1 import scale
from tamrin.models.registry import register_model

__all__ = ["Inception", "InceptionModule", "INCEPTION_CFG"]

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5 (as 3x3->3x3), pool proj)
INCEPTION_CFG = {
    "3a": (32, 48, 64, 8, 16, 16),
    "3b": (64, 64, 96, 16, 48, 32),
    "4a": (96, 48, 104, 8, 24, 32),
    "4b": (80, 56, 112, 12, 32, 32),
    "5a": (128, 80, 160, 16, 64, 64),
    "5b": (192, 96, 192, 24, 64, 64),
}


class InceptionModule(nn.Module):
    def __init__(self, cin: int, n1: int, r3: int, n3: int, r5: int, n5: int, pp: int):
        super().__init__()
        self.b1 = conv_bn_act(cin, n1, 1)
        self.b2 = nn.Sequential(conv_bn_act(cin, r3, 1), conv_bn_act(r3, n3, 3))
        self.b3 = nn.Sequential(conv_bn_act(cin, r5, 1), conv_bn_act(r5, n5, 3), conv_bn_act(n5, n5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn_act(cin, pp, 1))
        self.out_channels = n1 + n3 + n5 + pp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


@register_model("inception")
class Inception(ClassifierBase):
    def __init__(self, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32,
                 config: str | None = None, drop_rate: float = 0.2):
        super().__init__()
        stem_stride = self._init_layout(num_classes, width_mult, input_size, config)
        cin = scale(64, width_mult)
        layers = [conv_bn_act(3, cin, 3, stem_stride)]
        layers.append(nn.MaxPool2d(3, 2, 1))
        if self.config == "imagenet":
            layers.append(nn.MaxPool2d(3, 2, 1))
        for name in ["3a", "3b", "M", "4a", "4b", "M", "5a", "5b"]:
            if name == "M":
                layers.append(nn.MaxPool2d(3, 2, 1))
                continue
            m = InceptionModule(cin, *(scale(c, width_mult) for c in INCEPTION_CFG[name]))
            layers.append(m)
            cin = m.out_channels
        self._init_head(layers, cin, drop_rate)
