"""MobileNetV2 (Sandler et al. 2018, Table 2).

Inverted residual block (expansion t): 1x1 conv expands c_in -> t*c_in channels (BN, ReLU6), a
depthwise 3x3 filters them (BN, ReLU6), and a 1x1 "linear bottleneck" projects back down with BN but
NO activation (a ReLU in the narrow space would destroy information). The input is added back only
when the block keeps the shape: stride 1 and c_in == c_out.

Widths are alpha * c rounded to a multiple of 8 (`make_divisible`); the last 1x1 conv (1280 channels)
is not thinned for alpha < 1 (the paper keeps it, it matters for accuracy on small models).

Module names and order reproduce torchvision's `mobilenet_v2` exactly (features.0 = stem,
features.1..17 = blocks with `.conv`, features.18 = last 1x1 conv, classifier = [Dropout, Linear]),
so for config="imagenet" its published state_dict loads with strict=True.

Configurations (`config=`; None picks by input size):
- "imagenet" (224x224): Table 2, 224 -> 7x7 (32x down-sampling).
- "cifar" (32x32): the stem conv uses stride 1 instead of 2 (as in our MobileNetV1 CIFAR layout),
  so the first blocks work on the full 32x32 image and the last map is 2x2 (16x down-sampling).
"""
from __future__ import annotations

from torch import nn

from tamrin.models.base import ClassifierBase, conv_bn_act, make_divisible
from tamrin.models.registry import register_model

__all__ = ["MobileNetV2", "InvertedResidual", "V2_SETTING"]

# Table 2: expansion t, output channels c, repeats n, stride of the first repeat s.
V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hidden = int(round(cin * t))
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if t != 1:  # t=1 has nothing to expand: torchvision omits the conv (and so must we, for the keys)
            layers.append(conv_bn_act(cin, hidden, 1, act=nn.ReLU6))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
            nn.Conv2d(hidden, cout, 1, bias=False),  # linear bottleneck: BN, no activation
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


@register_model("mobilenet_v2")
class MobileNetV2(ClassifierBase):
    def __init__(self, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32,
                 config: str | None = None, drop_rate: float = 0.2):
        super().__init__()
        stem_stride = self._init_layout(num_classes, width_mult, input_size, config)
        cin = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))  # not shrunk for alpha < 1
        layers = [conv_bn_act(3, cin, 3, stem_stride, act=nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn_act(cin, last, 1, act=nn.ReLU6))
        self._init_head(layers, last, drop_rate)
