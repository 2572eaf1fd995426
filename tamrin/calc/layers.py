"""The arithmetic of one layer: output shape, parameters and multiply-adds.

Shapes never include the batch: (C, L) for 1D, (C, H, W) for 2D, (C, D, H, W) for 3D, (F,) once flat.
Every formula here follows PyTorch's definitions (the tests build the same layer in torch and compare):

    conv:            out = floor((n + 2p - d(k-1) - 1) / s) + 1
    transposed conv: out = (n - 1) s - 2p + d(k-1) + output_padding + 1
    pooling:         like conv; with ceil_mode the last window may start in the right padding,
                     but never entirely beyond the input (PyTorch drops such a window).

Multiply-adds (MACs) follow the MobileNet papers: one per weight per output position of a conv,
one per weight of a dense layer; biases, batch norm, activations, pooling and additions cost nothing.
Other tools count differently: see `tamrin.calc.conventions`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Union

from tamrin.errors import UserError

# Activation names the spec accepts, and the torch class each builds.
ACTIVATIONS = {
    "relu": "ReLU", "relu6": "ReLU6", "sigmoid": "Sigmoid", "tanh": "Tanh", "gelu": "GELU", "elu": "ELU",
    "leakyrelu": "LeakyReLU", "silu": "SiLU", "hardswish": "Hardswish", "softmax": "Softmax", "prelu": "PReLU",
    "identity": "Identity",
}
CONV_KINDS = ("conv", "dw", "pw", "convt")
POOL_KINDS = ("maxpool", "avgpool")
GLOBAL_KINDS = ("gap", "gmp")
OTHER_KINDS = ("flatten", "dense", "bn", "dropout")
LAYER_TYPES = CONV_KINDS + POOL_KINDS + GLOBAL_KINDS + OTHER_KINDS + tuple(ACTIVATIONS)

Shape = tuple


@dataclass
class Layer:
    """One layer of a spec, as parsed (kernel etc. may still be a single int for every dimension)."""

    kind: str
    token: str = ""  # the text the user wrote, for error messages and the table
    where: str = ""  # "position 3" or "layers[2]"
    out: Optional[int] = None  # output channels (conv) or features (dense)
    kernel: Optional[tuple] = None
    stride: Optional[tuple] = None  # None: 1 for conv, = kernel for pooling
    padding: Union[tuple, str] = (0,)
    dilation: tuple = (1,)
    groups: int = 1
    output_padding: tuple = (0,)
    bias: bool = True
    ceil: bool = False
    value: Optional[float] = None  # dropout probability, leaky-relu slope

    def fail(self, msg: str) -> UserError:
        return UserError(f"{self.token!r} at {self.where}: {msg}")


@dataclass
class Counts:
    """What one layer costs. `info` carries the facts the other tools' conventions need."""

    out_shape: Shape
    weights: int = 0
    biases: int = 0
    bn_params: int = 0
    bn_buffers: int = 0
    macs: int = 0
    info: dict = field(default_factory=dict)


def numel(shape) -> int:
    return math.prod(shape) if shape else 1


def _dims(layer: Layer, value, d: int, what: str) -> tuple:
    """Broadcast an int/1-tuple option to d spatial dimensions; refuse a tuple of the wrong length."""
    t = tuple(value) if isinstance(value, (tuple, list)) else (int(value),)
    if len(t) == 1:
        return t * d
    if len(t) != d:
        raise layer.fail(f"{what} has {len(t)} values but the input has {d} spatial dimension(s)")
    return t


def _spatial(layer: Layer, shape: Shape) -> int:
    d = len(shape) - 1
    if d < 1 or d > 3:
        raise layer.fail(f"needs a (C, L), (C, H, W) or (C, D, H, W) input, got {fmt_shape(shape)}; "
                         "a flat input only takes dense, bn, dropout and activations")
    return d


def same_padding(k: tuple, dil: tuple) -> tuple:
    """PyTorch's padding='same' for stride 1: total d(k-1), the odd pixel goes right/bottom."""
    return tuple((dl * (kk - 1)) // 2 for kk, dl in zip(k, dil))


def conv_geometry(layer: Layer, shape: Shape):
    """Resolved (kernel, stride, padding_left, dilation) tuples of a conv/pool layer on `shape`."""
    d = _spatial(layer, shape)
    k = _dims(layer, layer.kernel or (1,), d, "kernel")
    s = _dims(layer, layer.stride if layer.stride is not None else ((k if layer.kind in POOL_KINDS else (1,))), d, "stride")
    dil = _dims(layer, layer.dilation, d, "dilation")
    if layer.padding == "same":
        if any(x != 1 for x in s):
            raise layer.fail("padding 'same' needs stride 1 (as in PyTorch); give the padding as a number")
        p = same_padding(k, dil)
    elif layer.padding == "valid":
        p = (0,) * d
    else:
        p = _dims(layer, layer.padding, d, "padding")
    if min(k + s + dil) < 1 or min(p) < 0:
        raise layer.fail("kernel, stride and dilation must be >= 1 and padding >= 0")
    return k, s, p, dil


def _conv_out(layer, n, k, s, p, dl, ceil=False, pad_right=None):
    pr = p if pad_right is None else pad_right
    span = n + p + pr - dl * (k - 1) - 1
    if span < 0:
        raise layer.fail(f"the input ({n}) is smaller than the kernel's extent ({dl * (k - 1) + 1}) after padding")
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:  # PyTorch: the last window must start inside the input or left padding
        o -= 1
    return o


def apply(layer: Layer, shape: Shape) -> Counts:
    """Counts for `layer` applied to an input of `shape` (no batch)."""
    kind = layer.kind
    if kind in ("conv", "dw", "pw"):
        return _conv(layer, shape)
    if kind == "convt":
        return _convt(layer, shape)
    if kind in POOL_KINDS:
        return _pool(layer, shape)
    if kind in GLOBAL_KINDS:
        _spatial(layer, shape)
        return Counts((shape[0],), info={"pool": kind, "in_spatial": numel(shape[1:]), "dims": len(shape) - 1})
    if kind == "flatten":
        return Counts((numel(shape),))
    if kind == "dense":
        if len(shape) != 1:
            raise layer.fail(f"dense needs a flat input but gets {fmt_shape(shape)}; put 'flatten' or 'gap' before it")
        if not layer.out or layer.out < 1:
            raise layer.fail("dense needs its width, e.g. dense:10")
        n_in = shape[0]
        return Counts((layer.out,), weights=n_in * layer.out, biases=layer.out if layer.bias else 0,
                      macs=n_in * layer.out, info={"in_features": n_in})
    if kind == "bn":
        c = shape[0]
        # PyTorch keeps running_mean and running_var (C each) and num_batches_tracked (1 value)
        return Counts(tuple(shape), bn_params=2 * c, bn_buffers=2 * c + 1, info={"affine": True})
    if kind == "dropout":
        return Counts(tuple(shape))
    if kind in ACTIVATIONS:
        w = 1 if kind == "prelu" else 0  # nn.PReLU() learns one slope
        return Counts(tuple(shape), weights=w, info={"act": kind})
    raise layer.fail(f"unknown layer type; valid layer types: {', '.join(LAYER_TYPES)}")


def _conv(layer: Layer, shape: Shape) -> Counts:
    k, s, p, dil = conv_geometry(layer, shape)
    c_in = shape[0]
    if layer.kind == "dw":
        groups = c_in
        out = layer.out or c_in
        if out % c_in:
            raise layer.fail(f"a depthwise conv's output channels ({out}) must be a multiple of its input channels ({c_in})")
    else:
        groups = layer.groups
        out = layer.out
        if not out or out < 1:
            raise layer.fail("needs its number of output channels, e.g. conv3x3:32")
        if c_in % groups or out % groups:
            raise layer.fail(f"groups={groups} must divide the input channels ({c_in}) and output channels ({out})")
    pads_right = p
    if layer.padding == "same":  # odd total padding puts the extra pixel on the right
        pads_right = tuple(dl * (kk - 1) - pl for kk, dl, pl in zip(k, dil, p))
    spatial = tuple(_conv_out(layer, n, kk, ss, pp, dd, pad_right=pr)
                    for n, kk, ss, pp, dd, pr in zip(shape[1:], k, s, p, dil, pads_right))
    weights = out * (c_in // groups) * numel(k)
    return Counts((out,) + spatial, weights=weights, biases=out if layer.bias else 0,
                  macs=weights * numel(spatial),
                  info={"groups": groups, "kernel": k, "stride": s, "padding": p, "dilation": dil, "transposed": False,
                        "string_padding": layer.padding == "same"})


def _convt(layer: Layer, shape: Shape) -> Counts:
    if layer.padding == "same":
        raise layer.fail("a transposed conv takes a numeric padding, not 'same'")
    k, s, p, dil = conv_geometry(layer, shape)
    d = len(k)
    op = _dims(layer, layer.output_padding, d, "output padding")
    if any(o >= max(ss, dd) for o, ss, dd in zip(op, s, dil)):
        raise layer.fail("output padding must be smaller than the stride or the dilation (PyTorch's rule)")
    c_in, groups, out = shape[0], layer.groups, layer.out
    if not out or out < 1:
        raise layer.fail("needs its number of output channels, e.g. convt4s2p1:32")
    if c_in % groups or out % groups:
        raise layer.fail(f"groups={groups} must divide the input channels ({c_in}) and output channels ({out})")
    spatial = tuple((n - 1) * ss - 2 * pp + dd * (kk - 1) + o + 1
                    for n, kk, ss, pp, dd, o in zip(shape[1:], k, s, p, dil, op))
    if min(spatial) < 1:
        raise layer.fail(f"output size {spatial} is not positive")
    weights = c_in * (out // groups) * numel(k)
    # each input position scatters all its weights once: MACs = weights x input positions
    return Counts((out,) + spatial, weights=weights, biases=out if layer.bias else 0,
                  macs=weights * numel(shape[1:]),
                  info={"groups": groups, "kernel": k, "stride": s, "padding": p, "dilation": dil, "transposed": True})


def _pool(layer: Layer, shape: Shape) -> Counts:
    k, s, p, dil = conv_geometry(layer, shape)
    if layer.kind == "avgpool" and any(x != 1 for x in dil):
        raise layer.fail("average pooling has no dilation in PyTorch")
    if any(pp * 2 > kk for pp, kk in zip(p, k)):
        raise layer.fail("pooling padding must be at most half the kernel (PyTorch's rule)")
    if layer.kind == "avgpool" and len(k) == 3 and any(n < kk for n, kk in zip(shape[1:], k)):
        # avg_pool3d alone checks the unpadded input against the kernel (ATen's pool3d_shape_check, check_input_size)
        raise layer.fail(f"3-D average pooling needs every input side ({'x'.join(map(str, shape[1:]))}) at least the "
                         f"kernel ({'x'.join(map(str, k))}), padding or not (PyTorch's rule)")
    spatial = tuple(_conv_out(layer, n, kk, ss, pp, dd, ceil=layer.ceil)
                    for n, kk, ss, pp, dd in zip(shape[1:], k, s, p, dil))
    return Counts((shape[0],) + spatial, info={"pool": layer.kind, "kernel": k, "stride": s, "padding": p,
                                               "dilation": dil, "ceil": layer.ceil})


def fmt_shape(shape) -> str:
    return "x".join(str(int(v)) for v in shape) if shape else "-"
