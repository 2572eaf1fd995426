"""How five counting conventions turn the same layer into a number of operations.

All five count *multiply-accumulates* (one fused multiply-add = 1), for one sample; multiply by 2 for
"FLOPs" in the strict sense (a multiplication and an addition). They differ in what else they count:

| layer                      | tamrin (MobileNet papers) | ptflops (pytorch backend) | fvcore              | thop 0.1.x                    | torchinfo                      |
|----------------------------|---------------------------|---------------------------|---------------------|-------------------------------|--------------------------------|
| conv weights               | K·Cin/g·Cout·out positions| same                      | same                | same                          | same                           |
| conv bias                  | 0                         | Cout·out positions        | 0                   | 0                             | Cout·out positions             |
| transposed conv            | weights·input positions   | weights·**output** positions | weights·input positions | weights·**output** positions | (weights+bias)·output positions |
| dense                      | in·out                    | in·out + out (bias)       | in·out              | in·out                        | in·out + out (bias)            |
| batch norm (eval)          | 0                         | N (2N if affine)          | N (2N if affine)    | 2N (4N if affine)             | its parameters (2C)            |
| ReLU/ReLU6/ELU/LeakyReLU/PReLU/GELU | 0                | N (output elements)       | 0                   | LeakyReLU, PReLU: N; others 0 | PReLU: its parameter; others 0 |
| sigmoid, tanh, SiLU, hardswish | 0                     | 0 (as modules)            | 0                   | 0                             | 0                              |
| softmax                    | 0                         | 0 (as a module)           | 0                   | rows·(3F − 1)                 | 0                              |
| max pooling                | 0                         | input elements            | 0                   | 0                             | 0                              |
| average pooling            | 0                         | input elements            | 0                   | output elements               | 0                              |
| global/adaptive avg pool   | 0                         | input elements            | input elements (2D only) | (in/out positions + 1)·output elements | 0                |
| global/adaptive max pool   | 0                         | input elements            | 0                   | 0                             | 0                              |
| residual add, concat, flatten, dropout | 0             | 0                         | 0                   | 0                             | 0                              |

(N = elements of the layer's tensor, K = kernel positions, g = groups.) The sources: ptflops
`pytorch_ops.py` (MODULES_MAPPING; `x + y` is not patched, only torch.add/Tensor.add, so a residual `+`
costs 0), fvcore `flop_count.py` (_DEFAULT_SUPPORTED_OPS; conv/linear count no bias, aten::add is ignored),
thop `profile.py` / `vision/basic_hooks.py` (count_convNd uses the output size and the input channels even
for transposed convs; count_normalization = 2N, doubled when affine), torchinfo `layer_info.py`
(calculate_macs: for modules whose class name contains "Conv", every parameter × output positions; for
other modules with parameters, every parameter once).
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
