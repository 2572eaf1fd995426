"""VGG16 with torchvision's exact state_dict, and the compact VGG of Hewitt & Gunes (arXiv 1807.08775).

VGG16 (Simonyan & Zisserman 2015, configuration D): 13 conv3x3 layers in 5 stages with 2x2 max-pooling,
then three fully-connected layers. Module indices reproduce torchvision's `vgg16` exactly
(features.{0,2,5,7,10,12,14,17,19,21,24,26,28} = convs, classifier.{0,3,6} = linears), so the published
ImageNet file `vgg16-397923af.pth` loads with `strict=True` (tamrin.models.weights fetches and checks it).
Two deliberate, documented extensions, both off the ImageNet path:
- the pools use ceil_mode=True: identical to torchvision whenever the side is divisible by 32 (224 -> 7),
  but a 16x16 or 48x48 input keeps a 1x1 / 2x2 map instead of failing;
- head="gap" replaces the 25,088-input classifier by global average pooling + a small new head (the
  transfer-learning head: its input is 512 numbers, so cached features are tiny). width_mult < 1 thins
  every layer: a *width-reduced* VGG16 for quick CPU runs, which can no longer load ImageNet weights.

CompactVGG ("hg_vgg", Hewitt & Gunes 2018): 5 stages of 2x [conv3x3 without bias, BN, ReLU] with
16, 32, 64, 128, 128 channels, each followed by 2x2 max-pooling and Gaussian dropout 0.2; flatten
(4x4x128 = 2048 at 128x128 input); 2x [dense 1024, ReLU, dropout 0.5]; dense num_classes (8 expression
labels, or 2 valence/arousal values with regression=True). The "gap" variant ("hg_vgg_gap") drops the
last pool and the dense layers: GAP + dropout + one linear layer, which is what CAM (Zhou et al.) needs.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from tamrin.errors import UserError
from tamrin.models.base import ClassifierBase, conv_bn_act, init_weights
from tamrin.models.registry import register_model

__all__ = ["VGG16", "CompactVGG", "GaussianDropout", "VGG16_CFG", "HG_CFG", "pooled_size", "fold_batchnorm"]

VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
HG_CFG = [16, 16, "M", 32, 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M"]


def _w(c: int, width_mult: float) -> int:
    return max(1, int(round(c * width_mult)))


def pooled_size(size: int, pools: int = 5) -> int:
    """Side of the map after `pools` 2x2 max-pools with ceil_mode=True (128 -> 4, 48 -> 2, 16 -> 1)."""
    for _ in range(pools):
        size = math.ceil(size / 2)
    return size


class GaussianDropout(nn.Module):
    """Multiplicative Gaussian noise N(1, rate / (1 - rate)) in training, identity in eval (Keras'
    GaussianDropout, used in the paper's code): same variance as dropout of `rate`, but no zeros."""

    def __init__(self, rate: float = 0.2):
        super().__init__()
        if not 0 <= rate < 1:
            raise UserError(f"Gaussian dropout rate must be in [0, 1), got {rate}")
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        std = math.sqrt(self.rate / (1 - self.rate))
        return x * (1 + std * torch.randn_like(x))

    def extra_repr(self):
        return f"rate={self.rate}"


@register_model("vgg16")
class VGG16(ClassifierBase):
    """VGG16; head="torchvision" (default, ImageNet layout) or "gap" (GAP -> [dropout, linear(hidden),
    ReLU] -> dropout -> linear; head_hidden=0 gives GAP + one linear layer, i.e. CAM-ready)."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, input_size: int = 224, in_chans: int = 3,
                 head: str = "torchvision", head_hidden: int = 256, drop_rate: float = 0.5, batch_norm: bool = False):
        super().__init__()
        if head not in ("torchvision", "gap"):
            raise UserError(f"VGG16 head must be 'torchvision' or 'gap', got {head!r}")
        self.num_classes, self.width_mult, self.input_size, self.head = num_classes, width_mult, input_size, head
        self.batch_norm, self.head_hidden, self.drop_rate = batch_norm, head_hidden, drop_rate  # fold_batchnorm rebuilds from them
        self.default_input_size = input_size  # built for this size (ImageNet: 224); any size >= 1 px runs
        layers: list[nn.Module] = []
        cin = in_chans
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                cout = _w(v, width_mult)
                bn = [nn.BatchNorm2d(cout)] if batch_norm else []  # torchvision's vgg16_bn layout: conv, BN, ReLU
                layers += [nn.Conv2d(cin, cout, 3, padding=1), *bn, nn.ReLU(inplace=True)]
                cin = cout
        self.features = nn.Sequential(*layers)
        self.num_features = cin
        if head == "torchvision":
            hidden = _w(4096, width_mult)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(cin * 49, hidden), nn.ReLU(inplace=True), nn.Dropout(drop_rate),
                nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(drop_rate),
                nn.Linear(hidden, num_classes))
        else:
            self.classifier = gap_head(cin, num_classes, head_hidden, drop_rate)
        init_weights(self)

    def forward_features(self, x):
        return self.features(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.head == "gap" or pre_logits:  # pre_logits: the pooled vector, the interface's common embedding
            return super().forward_head(x, pre_logits)
        return self.classifier(torch.flatten(self.avgpool(x), 1))


@torch.no_grad()
def fold_batchnorm(model: VGG16) -> VGG16:
    """A plain VGG16 (torchvision's `vgg16` keys, no BN) computing exactly what `model` (batch_norm=True)
    computes in eval mode: each BN's running statistics and affine map are folded into the conv before it,
    w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta.

    Why: a 13-layer plain VGG trains slowly and fragilely from scratch (the reason VGG16-BN exists); training
    with BN and folding it away afterwards gives the plain VGG16 backbone, same keys and shapes, that the
    transfer stage expects (and that the ImageNet file would fill)."""
    if not model.batch_norm:
        raise UserError("fold_batchnorm needs a VGG16 built with batch_norm=True")
    plain = VGG16(model.num_classes, model.width_mult, model.input_size, model.features[0].in_channels,
                  head=model.head, head_hidden=model.head_hidden, drop_rate=model.drop_rate, batch_norm=False)
    convs = [m for m in plain.features if isinstance(m, nn.Conv2d)]
    src = list(model.features)
    pairs = [(src[i], src[i + 1]) for i in range(len(src) - 1) if isinstance(src[i], nn.Conv2d)]
    for dst, (conv, bn) in zip(convs, pairs):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        dst.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        dst.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    plain.classifier.load_state_dict(model.classifier.state_dict())
    return plain.eval()


def gap_head(cin: int, num_classes: int, hidden: int, drop_rate: float) -> nn.Sequential:
    """The head after global average pooling: [dropout, linear(hidden), ReLU] + dropout + linear."""
    if hidden > 0:
        return nn.Sequential(nn.Dropout(drop_rate), nn.Linear(cin, hidden), nn.ReLU(inplace=True),
                             nn.Dropout(drop_rate), nn.Linear(hidden, num_classes))
    return nn.Sequential(nn.Dropout(drop_rate), nn.Linear(cin, num_classes))


class CompactVGG(ClassifierBase):
    """Hewitt & Gunes' mobile VGG; see the module docstring. head: "flatten" (the paper) or "gap"."""

    def __init__(self, num_classes: int = 8, width_mult: float = 1.0, input_size: int = 128, in_chans: int = 3,
                 head: str = "flatten", dense: int = 1024, drop_conv: float = 0.2, drop_fc: float = 0.5,
                 regression: bool = False):
        super().__init__()
        if head not in ("flatten", "gap"):
            raise UserError(f"CompactVGG head must be 'flatten' or 'gap', got {head!r}")
        self.num_classes, self.width_mult, self.input_size, self.head = num_classes, width_mult, input_size, head
        # the flatten head's grid is built for input_size (the paper: 128), so that is this instance's design size
        self.default_input_size, self.regression = input_size, regression
        layers: list[nn.Module] = []
        cin = in_chans
        cfg = HG_CFG if head == "flatten" else HG_CFG[:-1]  # GAP variant: no pool after the last stage (finer CAMs)
        for v in cfg:
            if v == "M":
                layers += [nn.MaxPool2d(2, 2, ceil_mode=True), GaussianDropout(drop_conv)]
            else:
                cout = _w(v, width_mult)
                layers.append(conv_bn_act(cin, cout, 3))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.num_features = cin
        if head == "flatten":
            # at the design size the pool is the identity (4x4 map at 128 px); it lets other sizes run too
            self.grid = pooled_size(input_size)
            self.pool = nn.AdaptiveAvgPool2d(self.grid)
            d = _w(dense, width_mult)
            self.classifier = nn.Sequential(
                nn.Linear(cin * self.grid ** 2, d), nn.ReLU(inplace=True), nn.Dropout(drop_fc),
                nn.Linear(d, d), nn.ReLU(inplace=True), nn.Dropout(drop_fc),
                nn.Linear(d, num_classes))
        else:
            self.classifier = nn.Sequential(nn.Dropout(drop_fc), nn.Linear(cin, num_classes))
        init_weights(self)
        for m in self.classifier.modules():  # Keras' glorot-uniform dense init (as the paper's code)
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward_features(self, x):
        return self.features(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.head == "gap" or pre_logits:
            return super().forward_head(x, pre_logits)
        return self.classifier(torch.flatten(self.pool(x), 1))


@register_model("hg_vgg")
def hg_vgg(num_classes: int = 8, width_mult: float = 1.0, input_size: int = 128, **kw) -> CompactVGG:
    return CompactVGG(num_classes, width_mult, input_size, head="flatten", **kw)


@register_model("hg_vgg_gap")
def hg_vgg_gap(num_classes: int = 8, width_mult: float = 1.0, input_size: int = 128, **kw) -> CompactVGG:
    return CompactVGG(num_classes, width_mult, input_size, head="gap", **kw)
