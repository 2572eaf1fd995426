"""Count any nn.Module by running it once with forward hooks on its leaf modules.

Shapes come from the real tensors, parameters from the real `Parameter`s (each counted once, even when a
module is called twice), multiply-adds from the real output sizes:

    Conv1d/2d/3d:           weight.numel() x output positions
    ConvTranspose1d/2d/3d:  weight.numel() x input positions   (every input pixel scatters every weight once)
    Linear:                 weight.numel() x positions (1 for a flat input)
    everything else:        0 (batch norm, activations, pooling, additions: as the MobileNet papers count)

Receptive fields follow each tensor through the run: leaf modules apply the conv/pool recurrence,
and any other torch call whose output keeps its input's spatial size (relu, add, cat, ...) passes on the
union of its inputs' fields. A field that cannot be followed is shown as '-'.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from tamrin.calc import rf as rfmod
from tamrin.calc.analyze import Analysis, Row
from tamrin.calc.layers import ACTIVATIONS, numel

_ACT_NAMES = {v: k for k, v in ACTIVATIONS.items()}
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _t(v, d):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * d


def describe(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[str, dict, int]:
    """(kind, info, macs) of one leaf module call, measured from its real input x and output y."""
    d = x.dim() - 2
    if isinstance(m, nn.modules.conv._ConvNd):
        t = isinstance(m, nn.modules.conv._ConvTransposeNd)
        pad = m.padding
        if isinstance(pad, str):  # 'same' / 'valid'
            pad = (0,) * d if pad == "valid" else tuple(dl * (k - 1) // 2 for k, dl in zip(m.kernel_size, m.dilation))
        info = {"groups": m.groups, "kernel": tuple(m.kernel_size), "stride": tuple(m.stride), "padding": tuple(pad),
                "dilation": tuple(m.dilation), "transposed": t, "string_padding": isinstance(m.padding, str)}
        positions = numel(x.shape[2:]) if t else numel(y.shape[2:])
        return ("convt" if t else "conv"), info, m.weight.numel() * positions
    if isinstance(m, nn.Linear):
        positions = y.numel() // (y.shape[0] * m.out_features)
        return "dense", {"in_features": m.in_features}, m.weight.numel() * positions
    if isinstance(m, _NORMS):
        return "bn", {"affine": bool(getattr(m, "affine", getattr(m, "elementwise_affine", True)))}, 0
    if isinstance(m, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        kind = "maxpool" if isinstance(m, nn.modules.pooling._MaxPoolNd) else "avgpool"
        k = _t(m.kernel_size, d)
        info = {"pool": kind, "kernel": k, "stride": _t(m.stride or m.kernel_size, d), "padding": _t(m.padding, d),
                "dilation": _t(getattr(m, "dilation", 1), d), "ceil": m.ceil_mode}
        return kind, info, 0
    if isinstance(m, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        avg = isinstance(m, nn.modules.pooling._AdaptiveAvgPoolNd)
        glob = numel(y.shape[2:]) == 1
        kind = ("gap" if avg else "gmp") if glob else ("adaptive_avgpool" if avg else "adaptive_maxpool")
        return kind, {"pool": kind, "in_spatial": numel(x.shape[2:]), "out_spatial": numel(y.shape[2:]), "dims": d}, 0
    if isinstance(m, nn.Flatten):
        return "flatten", {}, 0
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return "dropout", {}, 0
    name = type(m).__name__
    if name in _ACT_NAMES:
        return _ACT_NAMES[name], {"act": _ACT_NAMES[name]}, 0
    return "other", {"module": name}, 0


def analyze_module(module: nn.Module, input_shape, batch: int = 1) -> Analysis:
    """Run `module` on zeros of shape (batch, *input_shape) in eval mode and return per-leaf rows.

    Counts are per sample (divided by the batch). The module's train/eval mode is restored.
    """
    input_shape = tuple(int(v) for v in input_shape)
    rows: list[Row] = []
    seen_params: set[int] = set()
    fields: dict[int, tuple] = {}  # id(tensor) -> (tensor, rf): the tensor is kept alive so ids stay unique
    names = {m: n for n, m in module.named_modules()}
    handles = []

    def get_rf(t):
        hit = fields.get(id(t))
        return hit[1] if hit is not None and hit[0] is t else None

    def hook(m, inputs, output):
        if not inputs or not torch.is_tensor(inputs[0]) or not torch.is_tensor(output):
            return
        x, y = inputs[0], output
        kind, info, macs = describe(m, x, y)
        w = b = bnp = 0
        for pname, p in m.named_parameters(recurse=False):
            if id(p) in seen_params:
                continue
            seen_params.add(id(p))
            if isinstance(m, _NORMS):
                bnp += p.numel()
            elif pname.endswith("bias"):
                b += p.numel()
            else:
                w += p.numel()
        bufs = sum(v.numel() for v in m.buffers(recurse=False)) if isinstance(m, _NORMS) and id(m) not in seen_params else 0
        seen_params.add(id(m))
        rf_in = get_rf(x)
        if rf_in is not None and x.dim() > 2:
            rf_out = rfmod.step(kind, info, tuple(x.shape[1:]), rf_in) if kind not in ("adaptive_avgpool", "adaptive_maxpool") else None
            if kind in ("gap", "gmp"):
                rf_out = rfmod.whole(tuple(x.shape[1:]), rf_in)
        else:
            rf_out = rf_in
        fields[id(y)] = (y, rf_out)
        rows.append(Row(names.get(m, type(m).__name__) or type(m).__name__, kind, tuple(x.shape[1:]),
                        tuple(y.shape[1:]), w, b, bnp, bufs, macs, rf_out, 0,
                        dict(info, module=type(m).__name__)))

    for m in module.modules():
        if len(list(m.children())) == 0:
            handles.append(m.register_forward_hook(hook))
    was_training = module.training
    module.eval()
    ref = next(iter(module.parameters()), None)  # build the input where (and in the precision) the model lives
    x = torch.zeros((batch,) + input_shape, device=ref.device if ref is not None else "cpu",
                    dtype=ref.dtype if ref is not None and ref.is_floating_point() else torch.float32)
    fields[id(x)] = (x, rfmod.initial(input_shape))
    try:
        with torch.no_grad(), _FieldMode(fields, get_rf):
            module(x)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    # parameters owned directly by containers (e.g. a learned token) still count
    rest = sum(p.numel() for p in module.parameters() if id(p) not in seen_params)
    if rest:
        rows.append(Row("(other parameters)", "other", (), (), weights=rest))
    return Analysis(input_shape, rows, type(module).__name__)


class _FieldMode(TorchFunctionMode):
    """Passes receptive fields through torch calls that keep the spatial size (add, cat, relu, ...)."""

    def __init__(self, fields, get_rf):
        super().__init__()
        self.fields, self.get_rf = fields, get_rf

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        try:
            if torch.is_tensor(out) and out.dim() >= 2:
                ins = [a for a in _flat(args) if torch.is_tensor(a) and a.dim() == out.dim() and a.shape[2:] == out.shape[2:]]
                rfs = [self.get_rf(a) for a in ins]
                if ins and all(r is not None for r in rfs) and id(out) not in self.fields:
                    self.fields[id(out)] = (out, rfmod.union(rfs))
                elif out.dim() == 2 or numel(out.shape[2:]) == 1:  # flattened or globally pooled: sees its whole source
                    src = [a for a in _flat(args) if torch.is_tensor(a) and a.dim() > 2 and self.get_rf(a) is not None]
                    if src and id(out) not in self.fields:
                        self.fields[id(out)] = (out, rfmod.whole(tuple(src[0].shape[1:]), self.get_rf(src[0])))
        except Exception:  # bookkeeping must never break the model's forward
            pass
        return out


def _flat(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from _flat(a)
        else:
            yield a
