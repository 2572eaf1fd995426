"""The interface every tamrin model shares (timm style).

    feats = model.forward_features(x)   # (N, C, h, w): the last feature map, before pooling
    logits = model.forward_head(feats)  # (N, num_classes); pre_logits=True returns the pooled vector
    model(x) == model.forward_head(model.forward_features(x))

Attributes: `num_classes`, `width_mult`, `input_size` (what it was built for), `default_input_size`
(the size its configuration was designed for), `num_features` (channels entering the classifier).
The base class adds no parameters, so subclasses control their state_dict keys exactly (MobileNetV2
relies on that to load torchvision weights).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ClassifierBase", "conv_bn_act", "make_divisible", "init_weights", "resolve_config"]


class ClassifierBase(nn.Module):
    default_input_size: int = 32

    def _init_layout(self, num_classes: int, width_mult: float, input_size: int, config: str | None) -> int:
        """Shared constructor start: keep the arguments, pick the ImageNet or CIFAR layout.
        Returns the stem stride (2 on ImageNet, 1 on CIFAR: 32x32 inputs keep their early resolution)."""
        self.config = resolve_config(config, input_size)
        self.num_classes, self.width_mult, self.input_size = num_classes, width_mult, input_size
        self.default_input_size = 224 if self.config == "imagenet" else 32
        return 2 if self.config == "imagenet" else 1

    def _init_head(self, layers: list, num_features: int, drop_rate: float) -> None:
        """Shared constructor end: `features` body, dropout + linear classifier, weight init.
        (Attribute order keeps torchvision's state_dict keys: features.*, classifier.1.*.)"""
        self.features = nn.Sequential(*layers)
        self.num_features = num_features
        self.classifier = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(num_features, self.num_classes))
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def resolve_config(config: str | None, input_size: int) -> str:
    """'imagenet' or 'cifar'. None picks by input size: 32x32-like inputs get the CIFAR layout."""
    from tamrin.errors import UserError

    if config is None:
        return "imagenet" if input_size >= 96 else "cifar"
    if config not in ("imagenet", "cifar"):
        raise UserError(f"config must be 'imagenet' or 'cifar', got {config!r}")
    return config


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of `divisor` (hardware-friendly), never dropping more than 10%.

    Same rule as the TensorFlow/torchvision MobileNet code, so widths match theirs exactly.
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # rounding down must not remove more than 10% of the channels
        new_v += divisor
    return new_v


def conv_bn_act(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act=nn.ReLU) -> nn.Sequential:
    """Conv (no bias: BN's shift replaces it) -> BatchNorm -> activation; keys .0/.1 like torchvision."""
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


def init_weights(model: nn.Module) -> None:
    """He init for convs (fan_out, as torchvision's MobileNets), BN at identity, small normal for FC."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
