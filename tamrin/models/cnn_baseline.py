"""A plain CNN baseline of MobileNetV1's depth: 14 standard 3x3 conv layers (+ BN + ReLU) and an FC layer.

VGG style: down-sampling by 2x2 max-pooling instead of strided convolutions, no depthwise factorisation,
no residuals. The channel widths are about a third of MobileNetV1's, which puts its multiply-adds
in the same range as MobileNetV1 on the same input (a full 3x3 conv costs ~9x a separable one, and
cost grows with width squared), so the comparison is "same depth, similar budget, plain convolutions".

Configurations as MobileNetV1: "imagenet" starts with a stride-2 stem (32x down-sampling in total),
"cifar" with a stride-1 stem (16x: 32x32 -> 2x2).
"""
from __future__ import annotations

from torch import nn

from tamrin.models.base import ClassifierBase, conv_bn_act
from tamrin.models.mobilenet_v1 import scale
from tamrin.models.registry import register_model

__all__ = ["CNNBaseline", "BASELINE_CFG"]

# Output channels of the 13 convs after the stem; "M" = 2x2 max-pool (where MobileNetV1 has stride 2).
BASELINE_CFG = [24, "M", 48, 48, "M", 96, 96, "M", 176, 176, 176, 176, 176, 176, "M", 344, 344]


@register_model("cnn_baseline")
class CNNBaseline(ClassifierBase):
    def __init__(self, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32,
                 config: str | None = None, drop_rate: float = 0.0):
        super().__init__()
        stem_stride = self._init_layout(num_classes, width_mult, input_size, config)
        cin = scale(16, width_mult)
        layers = [conv_bn_act(3, cin, 3, stem_stride)]
        for v in BASELINE_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                cout = scale(v, width_mult)
                layers.append(conv_bn_act(cin, cout, 3))
                cin = cout
        self._init_head(layers, cin, drop_rate)
