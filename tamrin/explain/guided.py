"""Guided backpropagation (Springenberg et al. 2015) and guided Grad-CAM (Selvaraju et al. 2017).

The rule, at every ReLU: the gradient passes only where the forward input was positive (the usual
ReLU derivative) AND the incoming gradient is positive (the "deconvnet" part):
    dL/dx = dL/dy * [x > 0] * [dL/dy > 0]

Networks call ReLU in many ways: nn.ReLU modules, F.relu, torch.relu, x.relu(), in-place variants.
nn.ReLU itself calls F.relu, and all of these dispatch through `__torch_function__`, so a single
TorchFunctionMode catches every one of them without touching the model: no modules swapped, no
hooks registered, nothing to restore (the mode ends with the `with` block, also on exceptions).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from tamrin.explain.hooks import Explanation, as_input, forward_logits, prepared, select_targets

__all__ = ["GuidedReLU", "guided_backprop", "guided_gradcam"]


class _GuidedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (positive,) = ctx.saved_tensors
        return grad_out * positive * (grad_out > 0)


class _GuidedReluInplace(torch.autograd.Function):
    """In-place version: the caller may rely on its tensor being rewritten (x.relu_())."""

    @staticmethod
    def forward(ctx, x):
        positive = x > 0
        ctx.mark_dirty(x)
        ctx.save_for_backward(positive)
        return x.clamp_(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (positive,) = ctx.saved_tensors
        return grad_out * positive * (grad_out > 0)


_RELU = {F.relu, torch.relu, torch.Tensor.relu}
_RELU_INPLACE = {torch.relu_, torch.Tensor.relu_, F.relu_}


class GuidedReLU(TorchFunctionMode):
    """`with GuidedReLU(): y = model(x)` -- every ReLU in the forward pass uses the guided rule in
    its backward pass. (Inside __torch_function__ the mode is switched off, so no recursion.)"""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RELU or func in _RELU_INPLACE:
            x = args[0] if args else kwargs.get("input", kwargs.get("self"))
            inplace = func in _RELU_INPLACE or (func is F.relu and kwargs.get("inplace", args[1] if len(args) > 1 else False))
            return (_GuidedReluInplace if inplace else _GuidedRelu).apply(x)
        return func(*args, **kwargs)


def guided_backprop(model: nn.Module, x: torch.Tensor, target=None) -> Explanation:
    """Guided gradients d y^c / d x (N, C, H, W) in `.gradients`; `.maps` is their largest absolute
    value over the colour channels (N, H, W), for statistics and heat-map display."""
    x = as_input(x)
    with prepared(model), GuidedReLU():
        logits = forward_logits(model, x)
        targets = select_targets(logits, target)
        (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)
    return Explanation("guided", grad.abs().amax(1), targets, logits.detach(), None, None, grad)


def guided_gradcam(model: nn.Module, x: torch.Tensor, layer=None, target=None) -> Explanation:
    """Guided backprop (fine detail) times the upsampled Grad-CAM map (class-discriminative)."""
    from tamrin.explain.gradcam import gradcam

    gc = gradcam(model, x, layer, target)
    gb = guided_backprop(model, x, gc.targets)
    grads = gb.gradients * gc.maps[:, None]
    return Explanation("guided-gradcam", grads.abs().amax(1), gc.targets, gc.logits, gc.layer, gc.low_res, grads)
