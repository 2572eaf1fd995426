"""Plumbing shared by every method: finding the target layer, recording its activation, reading the
pre-softmax class scores, and putting the model back exactly as it was (eval mode, no hooks left).

Why no backward hooks: `register_full_backward_hook` breaks when the next layer is an in-place ReLU
("... is a view and is being modified inplace"). We only record the layer's *output tensor* with a
forward hook and ask autograd for d(score)/d(output) with `torch.autograd.grad`, which works whatever
follows the layer. If an in-place ReLU rewrites that output, the recorded tensor *is* the post-ReLU
activation and its gradient is the gradient with respect to it: values and gradients stay consistent.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from tamrin.errors import UserError, did_you_mean

__all__ = ["candidate_layers", "default_layer", "resolve_layer", "require_grad", "prepared",
           "record_output", "forward_logits", "select_targets", "Explanation", "as_input", "hooks_left"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# modules that keep the feature-map shape: the "last conv" is best read after these (post BN/ReLU)
_ELEMENTWISE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm, nn.ReLU, nn.ReLU6,
                nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.Tanh, nn.Sigmoid, nn.PReLU)
_POOL = (nn.MaxPool2d, nn.AvgPool2d)


def candidate_layers(model: nn.Module) -> list[str]:
    """Dotted names of the modules whose output is a spatial feature map: convolutions, their
    normalisation/activation modules, local pooling and custom blocks (residual blocks...), in
    registration order, up to the default layer (after it come the classifier's vector layers)."""
    names = [n for n, _ in model.named_modules()]
    mods = dict(model.named_modules())
    if not any(isinstance(m, _CONV) for m in mods.values()):
        return []
    default = default_layer(model)
    end = max(i for i, n in enumerate(names) if n == default or n.startswith(default + "."))
    return [n for n in names[1:end + 1] if isinstance(mods[n], _CONV + _ELEMENTWISE + _POOL) or _is_block(mods[n])]


def _is_block(m: nn.Module) -> bool:
    """A custom module holding convolutions and no classifier part (e.g. a residual block)."""
    return (not isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)) and any(isinstance(c, _CONV) for c in m.modules())
            and not any(isinstance(c, _HEAD) for c in m.modules()))


_HEAD = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def default_layer(model: nn.Module) -> str:
    """The last convolution's block output: when the convolution sits in a custom block (a residual
    block, say) without a classifier part, the whole block (its output includes the skip connection);
    then past the BatchNorm/activation modules that directly follow in the same parent. That is the
    last spatial feature map, the layer the Grad-CAM paper uses and the input of a GAP head."""
    names = [n for n, _ in model.named_modules()]
    mods = dict(model.named_modules())
    convs = [n for n in names if n and isinstance(mods[n], _CONV)]
    if not convs:
        raise UserError(f"{type(model).__name__} has no convolution layer; pass the target layer by name")
    best = convs[-1]
    while "." in best:
        if not _is_block(mods[best.rpartition(".")[0]]):
            break
        best = best.rpartition(".")[0]
    prefix = best.rpartition(".")[0]
    for n in names[names.index(best) + 1:]:
        if n.startswith(best + "."):  # the block's own children
            continue
        if n.rpartition(".")[0] != prefix or not isinstance(mods[n], _ELEMENTWISE):
            break
        best = n
    return best


def resolve_layer(model: nn.Module, layer: nn.Module | str | None) -> tuple[str, nn.Module]:
    """(name, module) for a module, a dotted name ("features.3") or None (the default layer)."""
    if layer is None:
        layer = default_layer(model)
    if isinstance(layer, nn.Module):
        for name, m in model.named_modules():
            if m is layer:
                return name, m
        raise UserError(f"the given layer ({type(layer).__name__}) is not part of {type(model).__name__}")
    mods = dict(model.named_modules())
    if layer not in mods or layer == "":
        raise UserError(f"unknown layer {layer!r}{did_you_mean(layer, mods)}; candidate layers: {', '.join(candidate_layers(model))}")
    return layer, mods[layer]


def require_grad() -> None:
    """Gradient methods fail deep inside autograd under no_grad; say so in one line instead."""
    if torch.is_inference_mode_enabled() or not torch.is_grad_enabled():
        raise UserError("explanations need gradients: call them outside torch.no_grad() / torch.inference_mode()")


@contextlib.contextmanager
def prepared(model: nn.Module, need_grad: bool = True):
    """Eval mode for the duration (dropout off, BatchNorm on running statistics, so a batch gives the
    same maps as one image at a time), then each module's own training flag restored, even on error."""
    if need_grad:
        require_grad()
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, t in flags:
            m.training = t


@contextlib.contextmanager
def record_output(module: nn.Module):
    """Records the module's latest output tensor in `box["out"]`; the hook is removed on exit."""
    box: dict = {}

    def hook(_mod, _inp, out):
        if not isinstance(out, torch.Tensor):
            raise UserError(f"target layer {type(_mod).__name__} returns {type(out).__name__}, not a tensor; choose another layer")
        box["out"] = out

    handle = module.register_forward_hook(hook)
    try:
        yield box
    finally:
        handle.remove()


_SOFTMAX = {F.softmax, F.log_softmax, torch.softmax, torch.log_softmax, torch.Tensor.softmax, torch.Tensor.log_softmax}


class _SoftmaxSpy(TorchFunctionMode):
    """Remembers the last softmax call (module or functional), so a final softmax can be bypassed."""

    def __init__(self):
        super().__init__()
        self.last = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in _SOFTMAX:
            self.last = (args[0], out)
        return out


def forward_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's class scores *before* a final softmax: Grad-CAM differentiates y^c, not p^c
    (the softmax couples all classes and saturates). If the model's output is the result of its last
    softmax/log_softmax call, that call's input is returned instead."""
    spy = _SoftmaxSpy()
    with spy:
        out = model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise UserError(f"the model must return class scores of shape (N, classes), got {getattr(out, 'shape', type(out).__name__)}")
    if spy.last is not None and spy.last[1] is out:
        return spy.last[0]
    return out


def select_targets(logits: torch.Tensor, target) -> torch.Tensor:
    """Class index per image: the predicted class (None), one class for all (int) or one per image."""
    n, c = logits.shape
    if target is None:
        t = logits.argmax(1)
    elif isinstance(target, int):
        t = torch.full((n,), target, dtype=torch.long)
    else:
        t = torch.as_tensor(target, dtype=torch.long).reshape(-1)
        if t.numel() != n:
            raise UserError(f"got {t.numel()} target classes for {n} images")
    t = t.to(logits.device)
    if (t < 0).any() or (t >= c).any():
        raise UserError(f"target class out of range: the model has classes 0..{c - 1}")
    return t


@dataclass
class Explanation:
    """The result of one method on a batch.

    maps: (N, H, W) heat maps at the input resolution, >= 0, raw scale (normalise for display);
    low_res: (N, h, w) map at the target layer's resolution (None for guided backprop);
    gradients: (N, C, H, W) guided gradients (guided methods only); targets: explained class per image;
    logits: pre-softmax scores (N, classes)."""

    method: str
    maps: torch.Tensor
    targets: torch.Tensor
    logits: torch.Tensor
    layer: str | None = None
    low_res: torch.Tensor | None = None
    gradients: torch.Tensor | None = None

    @property
    def predicted(self) -> torch.Tensor:
        return self.logits.argmax(1)

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.softmax(1)


def as_input(x: torch.Tensor) -> torch.Tensor:
    """A fresh leaf that requires grad, so the graph exists even when all weights are frozen."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise UserError(f"images must be a float tensor of shape (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    return x.detach().float().clone().requires_grad_(True)


def hooks_left(model: nn.Module) -> int:
    """Number of hooks registered on the model's modules (0 after every method returns)."""
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
