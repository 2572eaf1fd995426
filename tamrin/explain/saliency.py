"""Input-gradient saliency under the three ReLU backward rules of `relu_rules`: plain gradients
("gradient", Simonyan et al. 2014), Zeiler & Fergus's deconvnet ("deconvnet") and guided
backpropagation ("guided", Springenberg et al. 2015). One code path, one rule argument: the three
maps differ by nothing but the step back through each ReLU, which is what makes them comparable.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tamrin.explain.hooks import Explanation, as_input, forward_logits, prepared, select_targets
from tamrin.explain.relu_rules import ReLURule

__all__ = ["relu_saliency", "gradient_saliency", "deconvnet"]


def relu_saliency(model: nn.Module, x: torch.Tensor, target=None, rule: str = "gradient", name: str | None = None) -> Explanation:
    """d y^c / d x under `rule` (N, C, H, W) in `.gradients`; `.maps` is their largest absolute value
    over the colour channels (N, H, W), for statistics and heat-map display."""
    x = as_input(x)
    with prepared(model), ReLURule(rule):
        logits = forward_logits(model, x)
        targets = select_targets(logits, target)
        (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)
    return Explanation(name or rule, grad.abs().amax(1), targets, logits.detach(), None, None, grad)


def gradient_saliency(model: nn.Module, x: torch.Tensor, target=None) -> Explanation:
    """Plain gradients of the class score with respect to the input (the true derivative)."""
    return relu_saliency(model, x, target, "gradient")


def deconvnet(model: nn.Module, x: torch.Tensor, target=None) -> Explanation:
    """Zeiler & Fergus's deconvnet: only positive gradients pass each ReLU, whatever its input was."""
    return relu_saliency(model, x, target, "deconvnet")
