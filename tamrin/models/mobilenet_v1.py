"""MobileNetV1 (Howard et al. 2017, "MobileNets", Table 1).

A 3x3 stem convolution followed by 13 depthwise-separable blocks: a depthwise 3x3 conv (one filter per
channel: spatial filtering) + BN + ReLU, then a pointwise 1x1 conv (mixes channels) + BN + ReLU.
A standard KxK conv from M to N channels costs K*K*M*N*H*W multiply-adds; the separable pair costs
K*K*M*H*W + M*N*H*W, i.e. 1/N + 1/K^2 of it (about 8-9x less for K=3).

Width multiplier alpha thins every layer (channels c -> alpha*c, cost ~alpha^2); resolution
multiplier rho is simply a smaller input (cost ~rho^2): pass input_size.

Two configurations (`config=`; None picks by input size):
- "imagenet" (224x224): exactly Table 1, five stride-2 stages, 224 -> 7x7 before global pooling.
  (Table 1 prints "s2" for the second-last depthwise conv on a 7x7 input; every reference
  implementation uses stride 1 there, and the paper's 569M multiply-adds require it.)
- "cifar" (32x32): identical, except the stem conv has stride 1 instead of 2. WHY: the ImageNet stack
  down-samples 32x; a 32x32 image would shrink to 16x16 after the very first layer and to 1x1 at the
  end, throwing away most spatial detail of an already tiny image before any separable block sees it.
  Removing the stem's stride keeps the first two blocks at full 32x32 resolution and leaves a 2x2 map
  for global pooling (16x total down-sampling), at 4x the ImageNet-layout cost on the same input
  (the choice of the widely used kuangliu/pytorch-cifar MobileNet).
"""
from __future__ import annotations

from torch import nn

from tamrin.models.base import ClassifierBase, conv_bn_act
from tamrin.models.registry import register_model

__all__ = ["MobileNetV1", "V1_BLOCKS", "depthwise_separable", "scale"]

# (output channels, stride) of the 13 depthwise-separable blocks after the 32-channel stem (Table 1).
V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def scale(c: int, alpha: float) -> int:
    """Width multiplier: alpha * channels (Table 1 widths times alpha are integers for 1, .75, .5, .25)."""
    return max(1, int(round(c * alpha)))


def depthwise_separable(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Depthwise 3x3 (groups=cin) + BN + ReLU, then pointwise 1x1 + BN + ReLU."""
    return nn.Sequential(conv_bn_act(cin, cin, 3, stride, groups=cin), conv_bn_act(cin, cout, 1))


@register_model("mobilenet_v1")
class MobileNetV1(ClassifierBase):
    block_fn = staticmethod(depthwise_separable)

    def __init__(self, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32,
                 config: str | None = None, drop_rate: float = 0.0):
        super().__init__()
        stem_stride = self._init_layout(num_classes, width_mult, input_size, config)
        cin = scale(32, width_mult)
        layers = [conv_bn_act(3, cin, 3, stem_stride)]
        for c, s in V1_BLOCKS:
            cout = scale(c, width_mult)
            layers.append(self.block_fn(cin, cout, s))
            cin = cout
        self._init_head(layers, cin, drop_rate)
