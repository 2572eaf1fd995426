"""How five counting conventions turn the same layer into a number of operations (per sample).

All five count multiply-accumulates (one fused multiply-add = 1); FLOPs in the strict sense are about twice
as many. `tamrin` (the default) counts conv and fully-connected multiply-adds only, as the MobileNet papers.
The others add different extras (N = elements of the layer's tensor):

    layer                  ptflops 0.7.5           fvcore 0.1.5             thop 0.1.1                 torchinfo 1.8
    conv bias              +Cout per position      0                        0                          +Cout per position
    conv padding='same'    counted                 0 (_convolution_mode)    counted                    counted
    transposed conv        input positions         input positions          OUTPUT positions           (w+b) x OUTPUT positions
    dense bias             +out                    0                        0                          +out
    batch norm (eval)      N (2N affine)           N (2N affine)            2N (4N affine)             2C (its parameters)
    ReLU/ELU/PReLU/GELU    2N (hook + F.* patch)   0                        PReLU N, others 0          PReLU 1
    ReLU6, LeakyReLU       N                       0                        0                          0
    SiLU, softmax          N                       0                        softmax rows*(3F-1)        0
    max/avg pooling        2 x input elements      0                        avg: output elements       0
    global/adaptive pool   2 x input elements      avg 2D: input elements   avg: (in/out+1) x output   0
    add, cat, flatten      0                       0                        0                          0

The rules come from each tool's source and are checked against the real tools on 208 networks by
benchmarks/calc_conventions.py (all 832 totals equal); docs/calc_conventions.md explains each one.
"""
from __future__ import annotations

from tamrin.calc.layers import numel
from tamrin.errors import UserError

CONVENTIONS = ("tamrin", "ptflops", "fvcore", "thop", "torchinfo")
ACT_KINDS = {"relu", "relu6", "elu", "leakyrelu", "prelu", "gelu", "silu", "softmax", "sigmoid", "tanh", "hardswish"}
_PTFLOPS_HOOKED = {"relu", "relu6", "elu", "leakyrelu", "prelu", "gelu"}
_PTFLOPS_FUNCTIONAL = {"relu", "elu", "prelu", "gelu", "silu", "softmax"}  # nn.ReLU6 calls F.hardtanh


def ops(row, convention: str = "tamrin") -> int:
    """Operations one table row costs under `convention` (per sample)."""
    if convention not in CONVENTIONS:
        raise UserError(f"unknown convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}")
    if convention == "tamrin":
        return row.macs
    k, info = row.kind, row.info
    n_in, n_out = numel(row.in_shape), numel(row.out_shape)
    out_pos = numel(row.out_shape[1:]) if len(row.out_shape) > 1 else 1
    if k in ("conv", "dw", "pw", "convt"):
        # for a plain conv weights x output positions is exactly its MACs; a transposed conv differs
        return {
            "ptflops": row.macs + row.biases * out_pos,  # 0.7.5: transposed convs use input positions too
            # padding='same'/'valid' strings dispatch to aten::_convolution_mode, which fvcore has no handle for
            "fvcore": 0 if info.get("string_padding") else row.macs,
            "thop": row.weights * out_pos,
            "torchinfo": (row.weights + row.biases) * out_pos,
        }[convention]
    if k == "dense":
        return {"ptflops": row.macs + row.biases, "fvcore": row.macs, "thop": row.macs,
                "torchinfo": row.macs + row.biases}[convention]
    if k == "bn":
        aff = info.get("affine", True)
        return {"ptflops": n_in * (2 if aff else 1), "fvcore": n_in * (2 if aff else 1),
                "thop": 2 * n_in * (2 if aff else 1), "torchinfo": row.bn_params}[convention]
    if k in ACT_KINDS:
        if convention == "ptflops":
            # module hook (ReLU, ReLU6, ELU, PReLU, GELU, LeakyReLU) + patched functional (F.relu, F.relu6, F.elu,
            # F.prelu, F.gelu, F.silu, F.softmax): the first five are counted twice
            return n_out * ((k in _PTFLOPS_HOOKED) + (k in _PTFLOPS_FUNCTIONAL))
        if convention == "thop":
            if k == "prelu":
                return n_in
            if k == "softmax":
                feats = row.in_shape[0]
                return (n_in // feats) * (3 * feats - 1)
            return 0  # ReLU/ReLU6: zero_ops; LeakyReLU: count_relu, which returns 0 in thop 0.1.1
        if convention == "torchinfo":
            return row.weights  # PReLU's slope, once
        return 0
    if k in ("maxpool", "avgpool"):
        if convention == "ptflops":
            return 2 * n_in  # module hook + patched F.max_poolNd / F.avg_poolNd
        if convention == "thop" and k == "avgpool":
            return n_out
        return 0
    if k in ("gap", "gmp", "adaptive_avgpool", "adaptive_maxpool"):
        avg = k in ("gap", "adaptive_avgpool")
        if convention == "ptflops":
            return 2 * n_in  # module hook + patched F.adaptive_*_poolNd
        if convention == "fvcore":
            return n_in if avg and len(row.in_shape) == 3 else 0  # only aten::adaptive_avg_pool2d has a handle
        if convention == "thop" and avg:
            in_pos = numel(row.in_shape[1:])
            o_pos = info.get("out_spatial", 1)
            channels = row.in_shape[0]
            return int((in_pos / o_pos + 1) * channels * o_pos)
        return 0
    return 0


def total(analysis, convention: str = "tamrin") -> int:
    return sum(ops(r, convention) for r in analysis.rows)


def all_totals(analysis) -> dict:
    """{convention: total operations} for a side-by-side comparison."""
    return {c: total(analysis, c) for c in CONVENTIONS}
