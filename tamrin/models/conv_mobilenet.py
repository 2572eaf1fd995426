"""Conv-MobileNet: MobileNetV1 with every depthwise-separable block replaced by one full 3x3 conv.

This is the paper's own ablation (Howard et al. 2017, Table 4: 71.7% vs 70.6% ImageNet accuracy for
29.3M vs 4.2M parameters, 4866M vs 569M multiply-adds): same depth layout, same widths, same strides,
only the factorisation differs, so any gap in accuracy or cost is due to depthwise separability.
"""
from __future__ import annotations

from torch import nn

from tamrin.models.base import conv_bn_act
from tamrin.models.mobilenet_v1 import MobileNetV1
from tamrin.models.registry import register_model

__all__ = ["ConvMobileNet", "full_conv_block"]


def full_conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Standard 3x3 conv + BN + ReLU in place of depthwise 3x3 + pointwise 1x1."""
    return nn.Sequential(conv_bn_act(cin, cout, 3, stride))


@register_model("conv_mobilenet")
class ConvMobileNet(MobileNetV1):
    block_fn = staticmethod(full_conv_block)
