"""Analytic vs measured, for any nn.Module: every leaf layer the calculator knows is re-described as a spec
layer, its shape, parameters and multiply-adds are computed by the calculator's formulas from the input
shape alone, and compared with what the forward hooks measured on the real tensors and parameters.

    problems = verify_module(model, (3, 32, 32))   # [] when the formulas and PyTorch agree everywhere
"""
from __future__ import annotations

from torch import nn

from tamrin.calc.layers import Layer, apply
from tamrin.calc.trace import analyze_module
from tamrin.errors import UserError


def layer_from_module(m: nn.Module, in_shape) -> Layer | None:
    """The spec layer equivalent to the torch leaf module `m` (None if the calculator has no formula for it)."""
    name = type(m).__name__
    if isinstance(m, nn.modules.conv._ConvNd):
        t = isinstance(m, nn.modules.conv._ConvTransposeNd)
        pad = m.padding if isinstance(m.padding, str) else tuple(m.padding)
        return Layer("convt" if t else "conv", name, "module", out=m.out_channels, kernel=tuple(m.kernel_size),
                     stride=tuple(m.stride), padding=pad, dilation=tuple(m.dilation), groups=m.groups,
                     output_padding=tuple(m.output_padding), bias=m.bias is not None)
    if isinstance(m, nn.Linear) and len(in_shape) == 1:
        return Layer("dense", name, "module", out=m.out_features, bias=m.bias is not None)
    if isinstance(m, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        kind = "maxpool" if isinstance(m, nn.modules.pooling._MaxPoolNd) else "avgpool"
        return Layer(kind, name, "module", kernel=_t(m.kernel_size), stride=_t(m.stride or m.kernel_size),
                     padding=_t(m.padding), dilation=_t(getattr(m, "dilation", 1)), ceil=m.ceil_mode)
    if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine and m.track_running_stats:
        return Layer("bn", name, "module")
    return None


def _t(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v),)


def verify_module(module: nn.Module, input_shape) -> list[str]:
    """Run the module once with hooks; return one line per leaf where formula and measurement disagree."""
    measured = analyze_module(module, input_shape)
    leaves = {n: m for n, m in module.named_modules()}
    problems, seen = [], set()
    for row in measured.rows:
        first_call = row.name not in seen  # a module called twice has its parameters counted on the first call
        seen.add(row.name)
        m = leaves.get(row.name)
        if m is None:
            continue
        layer = layer_from_module(m, row.in_shape)
        if layer is None:
            continue
        try:
            c = apply(layer, row.in_shape)
        except UserError as e:
            problems.append(f"{row.name}: the calculator refuses a layer PyTorch ran: {e}")
            continue
        got = (tuple(c.out_shape), c.weights, c.biases, c.bn_params, c.bn_buffers, c.macs)
        want = (row.out_shape, row.weights, row.biases, row.bn_params, row.bn_buffers, row.macs)
        if not first_call:
            got, want = (got[0], got[5]), (want[0], want[5])
        if got != want:
            problems.append(f"{row.name} ({type(m).__name__}): formula {got} vs measured {want} "
                            "(shape, weights, biases, BN params, BN buffers, MACs)")
    return problems

