"""Class Activation Mapping (Zhou et al. 2016) for networks whose head is global average pooling
followed by one linear layer:  y^c = sum_k w_k^c mean_ij A^k_ij + b^c,  so  M_c = sum_k w_k^c A^k.

Rather than guessing the architecture from module types, we *check* the identity numerically: the
model's pre-softmax scores must equal  mean_ij(A) @ W^T + b  for the last nn.Linear. Any other head
(two linear layers, flatten instead of pooling, a layer between...) fails the check with an error
that points to Grad-CAM, which works on every differentiable head.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tamrin.errors import UserError
from tamrin.explain.hooks import Explanation, forward_logits, prepared, record_output, resolve_layer, select_targets
from tamrin.explain.overlay import upsample

__all__ = ["cam", "cam_head"]


def cam_head(model: nn.Module) -> nn.Linear:
    """The last nn.Linear (in registration order): the candidate classifier of a GAP + linear head."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise UserError(f"CAM needs a global-average-pooling + linear head, {type(model).__name__} has no nn.Linear; use --method gradcam")
    return linears[-1]


def cam(model: nn.Module, x: torch.Tensor, layer=None, target=None, relu: bool = True) -> Explanation:
    """CAM maps for a batch x (N, C, H, W). `layer` must be the input of the global average pooling
    (default: the last convolution after its BN/ReLU modules). relu=True keeps the positive evidence,
    like Grad-CAM (then Grad-CAM = CAM / (h*w) exactly); relu=False gives Zhou et al.'s raw map."""
    name, module = resolve_layer(model, layer)
    head = cam_head(model)
    # CAM needs no gradients, so it also works under torch.no_grad()
    with torch.no_grad(), prepared(model, need_grad=False), record_output(module) as box:
        logits = forward_logits(model, x.float())
    if "out" not in box or box["out"].dim() != 4:
        raise UserError(f"layer {name!r} gives no (N, K, h, w) feature map; choose one of the convolution layers")
    acts = box["out"]
    w = head.weight.detach()
    if w.shape != (logits.shape[1], acts.shape[1]):
        raise UserError(f"CAM needs global average pooling of layer {name!r} ({acts.shape[1]} channels) followed by one linear layer, "
                        f"but the last linear layer is {w.shape[1]}->{w.shape[0]}; use --method gradcam")
    pooled = acts.mean(dim=(2, 3)) @ w.T + (head.bias.detach() if head.bias is not None else 0)
    tol = 1e-4 * (1 + logits.abs().max())
    if not torch.allclose(pooled, logits, atol=float(tol), rtol=1e-4):
        raise UserError(f"the model's head is not global average pooling of layer {name!r} + one linear layer "
                        f"(scores differ by {float((pooled - logits).abs().max()):.3g}); use --method gradcam (or --layer for the pooled layer)")
    targets = select_targets(logits, target)
    low = torch.einsum("nk,nkhw->nhw", w[targets], acts)
    if relu:
        low = torch.relu(low)
    return Explanation("cam", upsample(low, x.shape[-2:]), targets, logits, name, low)
