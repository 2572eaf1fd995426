"""A frozen network's features at a named layer (or its logits), computed only as far as needed.

The forward hook that records the layer's output raises a private exception, so the rest of the
network never runs: inverting an early layer does not pay for the late ones. The hook is removed in
`finally`, so nothing stays registered (tamrin.explain.hooks_left(model) == 0), also on errors.
"""
from __future__ import annotations


import torch
import torch.nn as nn

from tamrin.errors import UserError
from tamrin.explain.hooks import forward_logits, prepared, resolve_layer

__all__ = ["LOGITS", "feature_fn", "layer_features"]

LOGITS = "logits"  # the layer name that means "the class scores before any softmax"


class _Stop(Exception):
    def __init__(self, out):
        super().__init__()
        self.out = out


def _raise_output(_mod, _inp, out):
    if not isinstance(out, torch.Tensor):
        raise UserError(f"layer {type(_mod).__name__} returns {type(out).__name__}, not a tensor; choose another layer")
    raise _Stop(out)


def feature_fn(model: nn.Module, layer: str):
    """A differentiable function x -> the model's features at `layer` (LOGITS: the class scores).
    Call it inside `prepared(model)` (eval mode); the model's weights are not changed."""
    if layer == LOGITS:
        return lambda x: forward_logits(model, x)
    _, module = resolve_layer(model, layer)

    def f(x):
        handle = module.register_forward_hook(_raise_output)
        try:
            model(x)
        except _Stop as s:
            # an in-place op after the layer never ran, so the recorded tensor is the layer's output
            return s.out
        finally:
            handle.remove()
        raise UserError(f"layer {layer!r} was not used in the forward pass")

    return f


def layer_features(model: nn.Module, layer: str, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Features (N, ...) of all of x at `layer`, in eval mode and without gradients, batch by batch."""
    f = feature_fn(model, layer)
    outs = []
    with prepared(model, need_grad=False), torch.no_grad():
        for i in range(0, len(x), batch_size):
            outs.append(f(x[i:i + batch_size].float()).float().contiguous().clone())
    if not outs:
        raise UserError("no images to compute features of")
    return torch.cat(outs)
