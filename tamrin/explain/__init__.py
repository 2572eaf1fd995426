"""Explainability for PyTorch CNNs with torch, numpy and matplotlib only: CAM, Grad-CAM, Grad-CAM++,
plain gradients, deconvnet, guided backpropagation and guided Grad-CAM (and, in
tamrin.explain.inversion, reconstructing the image from a layer's features).

    from tamrin.explain import explain
    e = explain(model, x, method="gradcam", layer="features.4", target=None)   # None = predicted class
    e.maps      # (N, H, W) at input resolution;  e.targets, e.logits, e.low_res, e.gradients

Every method puts the model in eval mode for the call, restores it afterwards and leaves no hook
behind, also when it raises. Gradient methods refuse to run under torch.no_grad() with a clear error.
"""
from __future__ import annotations

from tamrin.errors import UserError
from tamrin.explain.cam import cam
from tamrin.explain.gradcam import gradcam, gradcam_pp
from tamrin.explain.guided import GuidedReLU, guided_backprop, guided_gradcam
from tamrin.explain.hooks import Explanation, candidate_layers, default_layer, hooks_left, resolve_layer
from tamrin.explain.overlay import grid_figure, normalize, overlay, upsample
from tamrin.explain.relu_rules import RULES, ReLURule
from tamrin.explain.saliency import deconvnet, gradient_saliency, relu_saliency

METHODS = ("gradcam", "cam", "gradcam++", "guided", "guided-gradcam", "deconvnet", "gradient")

__all__ = ["explain", "METHODS", "cam", "gradcam", "gradcam_pp", "guided_backprop", "guided_gradcam", "GuidedReLU",
           "ReLURule", "RULES", "relu_saliency", "deconvnet", "gradient_saliency",
           "Explanation", "candidate_layers", "default_layer", "resolve_layer", "hooks_left", "grid_figure",
           "normalize", "overlay", "upsample", "explain_sections", "load_model_from_run"]


def explain(model, x, method: str = "gradcam", layer=None, target=None) -> Explanation:
    """Run one of METHODS on a batch x (N, C, H, W)."""
    if method == "cam":
        return cam(model, x, layer, target)
    if method == "gradcam":
        return gradcam(model, x, layer, target)
    if method == "gradcam++":
        return gradcam_pp(model, x, layer, target)
    if method == "guided":
        return guided_backprop(model, x, target)
    if method == "guided-gradcam":
        return guided_gradcam(model, x, layer, target)
    if method == "deconvnet":
        return deconvnet(model, x, target)
    if method == "gradient":
        return gradient_saliency(model, x, target)
    raise UserError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")


def __getattr__(name):  # the report and checkpoint helpers pull in more; load them on first use
    if name == "explain_sections":
        from tamrin.explain.report import explain_sections

        return explain_sections
    if name == "load_model_from_run":
        from tamrin.explain.checkpoint import load_model_from_run

        return load_model_from_run
    raise AttributeError(name)
