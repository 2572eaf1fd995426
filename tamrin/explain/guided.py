"""Guided backpropagation (Springenberg et al. 2015) and guided Grad-CAM (Selvaraju et al. 2017).

The rule, at every ReLU: the gradient passes only where the forward input was positive (the usual
ReLU derivative) AND the incoming gradient is positive (the "deconvnet" part):
    dL/dx = dL/dy * [x > 0] * [dL/dy > 0]

Every kind of ReLU call (modules, F.relu, torch.relu, x.relu(), in-place variants) is caught by one
TorchFunctionMode, shared with the deconvnet and plain-gradient rules: see relu_rules.py.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tamrin.explain.hooks import Explanation
from tamrin.explain.relu_rules import ReLURule
from tamrin.explain.saliency import relu_saliency

__all__ = ["GuidedReLU", "guided_backprop", "guided_gradcam"]


class GuidedReLU(ReLURule):
    """`with GuidedReLU(): y = model(x)` -- every ReLU in the forward pass uses the guided rule in
    its backward pass (`ReLURule("guided")`; see relu_rules.py for the other two rules)."""

    def __init__(self):
        super().__init__("guided")


def guided_backprop(model: nn.Module, x: torch.Tensor, target=None) -> Explanation:
    """Guided gradients d y^c / d x (N, C, H, W) in `.gradients`; `.maps` is their largest absolute
    value over the colour channels (N, H, W), for statistics and heat-map display."""
    return relu_saliency(model, x, target, "guided")


def guided_gradcam(model: nn.Module, x: torch.Tensor, layer=None, target=None) -> Explanation:
    """Guided backprop (fine detail) times the upsampled Grad-CAM map (class-discriminative)."""
    from tamrin.explain.gradcam import gradcam

    gc = gradcam(model, x, layer, target)
    gb = guided_backprop(model, x, gc.targets)
    grads = gb.gradients * gc.maps[:, None]
    return Explanation("guided-gradcam", grads.abs().amax(1), gc.targets, gc.logits, gc.layer, gc.low_res, grads)
