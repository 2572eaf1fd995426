"""Three ways back through a ReLU, and one TorchFunctionMode that applies any of them to every ReLU.

With y = relu(x) and g = dL/dy arriving from above:
    gradient   (Simonyan et al. 2014)       dL/dx = g * [x > 0]              the true derivative
    deconvnet  (Zeiler & Fergus 2014)       dL/dx = g * [g > 0]              the forward mask is ignored
    guided     (Springenberg et al. 2015)   dL/dx = g * [x > 0] * [g > 0]    both masks
Springenberg et al. (arXiv 1412.6806) present the three as differing only in
this one step; max-pooling is handled alike by all three (its switches are the gradient's routing).

Networks call ReLU in many ways: nn.ReLU modules, F.relu, torch.relu, x.relu(), in-place variants.
nn.ReLU itself calls F.relu, and all of these dispatch through `__torch_function__`, so a single
TorchFunctionMode catches every one of them without touching the model: no modules swapped, no
hooks registered, nothing to restore (the mode ends with the `with` block, also on exceptions).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from tamrin.errors import UserError

__all__ = ["RULES", "ReLURule", "relu_backward"]

RULES = ("gradient", "deconvnet", "guided")


def relu_backward(grad_out: torch.Tensor, positive: torch.Tensor | None, rule: str) -> torch.Tensor:
    """The backward step of one ReLU under `rule`; `positive` is the forward mask [x > 0]."""
    if rule == "gradient":
        return grad_out * positive
    if rule == "deconvnet":
        return grad_out * (grad_out > 0)
    return grad_out * positive * (grad_out > 0)


def _check(rule: str) -> str:
    if rule not in RULES:
        raise UserError(f"unknown ReLU backward rule {rule!r}; choose one of: {', '.join(RULES)}")
    return rule


class _Relu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, rule):
        ctx.rule = rule
        # deconvnet never reads the forward mask: do not keep it alive
        ctx.save_for_backward(None if rule == "deconvnet" else x > 0)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (positive,) = ctx.saved_tensors
        return relu_backward(grad_out, positive, ctx.rule), None


class _ReluInplace(torch.autograd.Function):
    """In-place version: the caller may rely on its tensor being rewritten (x.relu_())."""

    @staticmethod
    def forward(ctx, x, rule):
        ctx.rule = rule
        positive = None if rule == "deconvnet" else x > 0  # taken before x is overwritten
        ctx.mark_dirty(x)
        ctx.save_for_backward(positive)
        return x.clamp_(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (positive,) = ctx.saved_tensors
        return relu_backward(grad_out, positive, ctx.rule), None


_RELU = {F.relu, torch.relu, torch.Tensor.relu}
_RELU_INPLACE = {torch.relu_, torch.Tensor.relu_, F.relu_}


class ReLURule(TorchFunctionMode):
    """`with ReLURule("deconvnet"): y = model(x)` -- every ReLU of the forward pass uses that rule in
    its backward pass. (Inside __torch_function__ the mode is switched off, so no recursion.)"""

    def __init__(self, rule: str):
        super().__init__()
        self.rule = _check(rule)
        self.calls = 0  # ReLUs caught in the forward pass (a model with none gets plain gradients)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RELU or func in _RELU_INPLACE:
            x = args[0] if args else kwargs.get("input", kwargs.get("self"))
            inplace = func in _RELU_INPLACE or (func is F.relu and kwargs.get("inplace", args[1] if len(args) > 1 else False))
            self.calls += 1
            return (_ReluInplace if inplace else _Relu).apply(x, self.rule)
        return func(*args, **kwargs)
