"""Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhyay et al. 2018).

Both weight the target layer's feature maps A^k (N, K, h, w) by how much the class score y^c
(before any softmax) depends on them, and keep the positive part:
  Grad-CAM:   alpha_k = mean_ij dy^c/dA^k_ij,                  map = ReLU(sum_k alpha_k A^k)
  Grad-CAM++: w_k = sum_ij a_kij ReLU(dy^c/dA^k_ij),            map = ReLU(sum_k w_k A^k)
              a_kij = g^2 / (2 g^2 + sum_ab A^k_ab g^3),  g = dy^c/dA^k_ij
Grad-CAM++ derives a_kij for the score exp(y^c), whose higher derivatives are products of the first
one; that is why only first-order gradients appear (the paper's eq. 19).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tamrin.errors import UserError
from tamrin.explain.hooks import (Explanation, as_input, forward_logits, prepared, record_output, resolve_layer,
                                  select_targets)
from tamrin.explain.overlay import upsample

__all__ = ["gradcam", "gradcam_pp", "activations_and_grads"]


def activations_and_grads(model: nn.Module, x: torch.Tensor, layer=None, target=None):
    """One forward and one backward pass: (layer name, A, dy/dA, logits, targets), all detached.

    Summing the selected scores over the batch gives each image its own gradient, because in eval
    mode images do not interact (the batch = one-at-a-time test checks this)."""
    name, module = resolve_layer(model, layer)
    x = as_input(x)
    with prepared(model), record_output(module) as box:
        logits = forward_logits(model, x)
        if "out" not in box:
            raise UserError(f"layer {name!r} was not used in the forward pass")
        acts = box["out"]
        if acts.dim() != 4:
            raise UserError(f"layer {name!r} outputs shape {tuple(acts.shape)}; Grad-CAM needs (N, K, h, w) feature maps")
        targets = select_targets(logits, target)
        score = logits.gather(1, targets[:, None]).sum()
        (grads,) = torch.autograd.grad(score, acts)
    return name, acts.detach(), grads.detach(), logits.detach(), targets


def gradcam(model: nn.Module, x: torch.Tensor, layer=None, target=None) -> Explanation:
    """Grad-CAM maps for a batch x (N, C, H, W); `target` = None (predicted class), int or one per image."""
    name, acts, grads, logits, targets = activations_and_grads(model, x, layer, target)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): global-average-pooled gradients
    low = torch.relu((alpha * acts).sum(1))
    return Explanation("gradcam", upsample(low, x.shape[-2:]), targets, logits, name, low)


def gradcam_pp(model: nn.Module, x: torch.Tensor, layer=None, target=None) -> Explanation:
    """Grad-CAM++: pixel-wise weights a_kij let several instances of a class each count fully."""
    name, acts, grads, logits, targets = activations_and_grads(model, x, layer, target)
    g2, g3 = grads.pow(2), grads.pow(3)
    denom = 2 * g2 + acts.sum(dim=(2, 3), keepdim=True) * g3
    # where the gradient is 0 the numerator is 0 too: define a = 0 there instead of 0/0
    a = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
    weights = (a * torch.relu(grads)).sum(dim=(2, 3), keepdim=True)
    low = torch.relu((weights * acts).sum(1))
    return Explanation("gradcam++", upsample(low, x.shape[-2:]), targets, logits, name, low)
