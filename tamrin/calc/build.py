"""Build a real PyTorch module from a spec: the oracle the calculator is tested against.

Each spec layer becomes the standard torch layer (so the hook tracer and the other counting tools see
ordinary modules); cat( ) and add( ) blocks become the two small containers below.
"""
from __future__ import annotations

import torch
from torch import nn

from tamrin.calc.layers import ACTIVATIONS, apply, conv_geometry
from tamrin.calc.spec import Block, parse


class Concat(nn.Module):
    """Runs each branch on the same input and concatenates the results on channels (Inception)."""

    def __init__(self, branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


class Sum(nn.Module):
    """Runs each branch on the same input and adds the results (an empty branch is the identity shortcut)."""

    def __init__(self, branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        out = self.branches[0](x)
        for b in self.branches[1:]:
            out = out + b(x)
        return out


def build(spec, input_shape=None) -> nn.Module:
    """Spec -> nn.Sequential with the same layers; shapes are checked by the analytic pass first."""
    sp = parse(spec)
    shape = tuple(input_shape or sp.input_shape)
    mods, _ = _seq(sp.nodes, shape)
    return nn.Sequential(*mods)


def _seq(nodes, shape):
    mods = []
    for node in nodes:
        if isinstance(node, Block):
            branches, outs = [], []
            for br in node.branches:
                m, o = _seq(br, shape)
                branches.append(nn.Sequential(*m) if m else nn.Identity())
                outs.append(o)
            if node.mode == "add":
                mods.append(Sum(branches))
                shape = outs[0]
            else:
                mods.append(Concat(branches))
                shape = (sum(o[0] for o in outs),) + tuple(outs[0][1:])
        else:
            mods.extend(_module(node, shape))
            shape = tuple(apply(node, shape).out_shape)
    return mods, shape


def _module(layer, shape) -> list:
    d = len(shape) - 1
    k = layer.kind
    if k in ("conv", "dw", "pw", "convt", "maxpool", "avgpool"):
        ks, s, p, dil = conv_geometry(layer, shape)
    if k in ("conv", "dw", "pw"):
        c = apply(layer, shape)
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[d - 1]
        pad = "same" if layer.padding == "same" else p
        return [conv(shape[0], c.out_shape[0], ks, stride=s, padding=pad, dilation=dil, groups=c.info["groups"],
                     bias=layer.bias)]
    if k == "convt":
        conv = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[d - 1]
        op = layer.output_padding * d if len(layer.output_padding) == 1 else layer.output_padding
        return [conv(shape[0], layer.out, ks, stride=s, padding=p, output_padding=op, groups=layer.groups,
                     bias=layer.bias, dilation=dil)]
    if k == "maxpool":
        return [(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[d - 1](ks, s, p, dil, ceil_mode=layer.ceil)]
    if k == "avgpool":
        return [(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[d - 1](ks, s, p, ceil_mode=layer.ceil)]
    if k in ("gap", "gmp"):
        pool = ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d) if k == "gap"
                else (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d))[d - 1]
        return [pool(1), nn.Flatten()]
    if k == "flatten":
        return [nn.Flatten()]
    if k == "dense":
        return [nn.Linear(shape[0], layer.out, bias=layer.bias)]
    if k == "bn":
        return [(nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[d](shape[0])]
    if k == "dropout":
        return [nn.Dropout(0.5 if layer.value is None else layer.value)]
    if k == "leakyrelu":
        return [nn.LeakyReLU(0.01 if layer.value is None else layer.value)]
    if k == "softmax":
        return [nn.Softmax(dim=1)]
    return [getattr(nn, ACTIVATIONS[k])()]
