"""deconv-inversion's measurements, as plain numbers: the three saliency rules (class specificity,
deletion curves) and the two inversions (decoders per depth, optimisation at one layer)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tamrin.explain import gradcam, relu_saliency
from tamrin.explain.faithfulness import curve_area, deletion_curve, map_correlation, other_class
from tamrin.explain.inversion import LOGITS, UpConvDecoder, feature_fn, invert_by_optimisation, layer_features, mse_per_image, psnr
from tamrin.explain.hooks import prepared
from tamrin.train import fit, predict

RULES = (("gradient", "gradient"), ("deconvnet", "deconvnet"), ("guided", "guided backprop"))
REFERENCE = ("gradcam", "Grad-CAM (reference)")


def _maps(model, x, targets, method, batch=250):
    """Maps (N, H, W) and signed input gradients (N, C, H, W, None for Grad-CAM), batch by batch."""
    maps, grads = [], []
    for i in range(0, len(x), batch):
        t = targets[i:i + batch]
        e = gradcam(model, x[i:i + batch], None, t) if method == "gradcam" else relu_saliency(model, x[i:i + batch], t, method)
        maps.append(e.maps.detach())
        grads.append(None if e.gradients is None else e.gradients.detach())
    return torch.cat(maps), (None if grads[0] is None else torch.cat(grads))


def saliency(model, x, y, fractions, seed: int, num_classes: int, patch: int = 4) -> dict:
    """Per method: maps of the predicted class and of a random other class, their correlation (class
    specificity); the map of the same class for another image, its correlation (image specificity); the
    deletion curves (accuracy vs fraction removed, single pixels and patch x patch squares); plus random removal."""
    pred = predict(model, x).argmax(1)
    other = other_class(pred, num_classes, seed)
    x_next = x.roll(1, 0)  # image i-1 in row i: the same class asked of a different image
    out = {"n": len(y), "fractions": list(fractions), "accuracy": float((pred == y).float().mean()), "methods": {}}
    for method, label in (*RULES, REFERENCE):
        m_pred, g_pred = _maps(model, x, pred, method)
        m_other, g_other = _maps(model, x, other, method)
        m_next, _ = _maps(model, x_next, pred, method)
        corr = map_correlation(m_pred, m_other)
        img_corr = map_correlation(m_pred, m_next)
        sign_corr = map_correlation(g_pred.flatten(1, 2), g_other.flatten(1, 2)) if g_pred is not None else None
        curve = deletion_curve(model, x, y, m_pred, fractions)
        curve_p = deletion_curve(model, x, y, m_pred, fractions, patch=patch)
        out["methods"][method] = {
            "label": label, "corr_mean": float(np.nanmean(corr)), "corr_median": float(np.nanmedian(corr)),
            "corr_above_0_9": float(np.nanmean(corr > 0.9)),
            "signed_corr_mean": None if sign_corr is None else float(np.nanmean(sign_corr)),
            "image_corr_mean": float(np.nanmean(img_corr)),
            "deletion": curve, "deletion_area": curve_area(fractions, curve),
            "deletion_patch": curve_p, "deletion_patch_area": curve_area(fractions, curve_p),
            "_maps": m_pred, "_grads": g_pred, "_grads_other": g_other, "_maps_other": m_other}
    gen = torch.Generator().manual_seed(seed + 1)
    rand = torch.rand(len(x), *x.shape[2:], generator=gen)
    curve = deletion_curve(model, x, y, rand, fractions)
    curve_p = deletion_curve(model, x, y, rand, fractions, patch=patch)
    out["random"] = {"deletion": curve, "deletion_area": curve_area(fractions, curve),
                     "deletion_patch": curve_p, "deletion_patch_area": curve_area(fractions, curve_p)}
    out["patch"] = patch
    out["_pred"], out["_other"] = pred, other
    return out


def train_decoder(cfg, run, model, layer, x_tr, pix_tr, x_te, pix_te) -> dict:
    """Features of the frozen CNN at `layer` -> an up-convolutional decoder trained (tamrin.train.fit,
    checkpoint per epoch, MSE in pixel space) to give back the image; evaluated on held-out images."""
    f_tr, f_te = layer_features(model, layer, x_tr), layer_features(model, layer, x_te)
    torch.manual_seed(cfg.seed)
    dec = UpConvDecoder(f_tr.shape[1:], pix_tr.shape[1:], width=cfg.decoder_width, convs=cfg.decoder_convs)
    tag = "decoder_" + layer.replace(".", "_")
    res = fit(dec, (f_tr, pix_tr), None, cfg.decoder_train, run, tag=tag, loss_fn=F.mse_loss, seed=cfg.seed)
    rec = predict(res.model, f_te).clamp(0, 1)  # pixels live in [0, 1]: clipping can only lower the error
    mse = mse_per_image(rec, pix_te)
    colour = np.corrcoef(rec.mean((2, 3)).flatten().numpy(), pix_te.mean((2, 3)).flatten().numpy())[0, 1]
    return {"layer": layer, "tag": tag, "shape": list(f_tr.shape[1:]), "dims": int(f_tr[0].numel()),
            "params": sum(p.numel() for p in dec.parameters()), "upconvs": dec.upconvs,
            "mse": float(mse.mean()), "psnr": float(psnr(mse).mean()), "psnr_of_mean_mse": float(psnr(mse.mean())),
            "colour_corr": float(colour), "history": res.history, "seconds": res.seconds,
            "_decoder": res.model.eval(), "_rec": rec, "_mse": mse}


def mean_image_baseline(pix_tr, pix_te) -> dict:
    """The error of always answering the training set's mean image: what a decoder must beat."""
    mse = mse_per_image(pix_tr.mean(0, keepdim=True).expand_as(pix_te), pix_te)
    return {"mse": float(mse.mean()), "psnr": float(psnr(mse).mean())}


def feature_error(model, layer, x_a, x_b) -> np.ndarray:
    """||phi(a) - phi(b)|| / ||phi(b)|| per image: how well image a reproduces b's features."""
    f = feature_fn(model, layer)
    with prepared(model, need_grad=False), torch.no_grad():
        fa, fb = f(x_a).flatten(1), f(x_b).flatten(1)
    return ((fa - fb).norm(dim=1) / fb.norm(dim=1).clamp_min(1e-12)).numpy()


def optimisation_vs_decoder(cfg, model, dec_row, x, pix, to_input, from_input) -> dict:
    """At cfg.optim_layer: Mahendran & Vedaldi's optimisation vs the trained decoder on the same images."""
    layer = cfg.optim_layer
    rec_opt, hist = invert_by_optimisation(model, layer, x, cfg.optim, to_input, from_input)
    rec_dec = dec_row["_rec"][: len(x)]
    mse_opt, mse_dec = mse_per_image(rec_opt, pix), mse_per_image(rec_dec, pix)
    return {"layer": layer, "n": len(x), "steps": cfg.optim.steps, "tv_weight": cfg.optim.tv_weight,
            "opt_mse": float(mse_opt.mean()), "opt_psnr": float(psnr(mse_opt).mean()),
            "dec_mse": float(mse_dec.mean()), "dec_psnr": float(psnr(mse_dec).mean()),
            "opt_feature_error": float(np.mean(hist["final_feature_error"])),
            "dec_feature_error": float(feature_error(model, layer, to_input(rec_dec), x).mean()),
            "loss_curve": hist["loss"], "feature_curve": hist["feature_loss"], "_rec": rec_opt}


def public(d):
    """The JSON-able part of a result: keys starting with '_' hold tensors for the figures."""
    if isinstance(d, dict):
        return {k: public(v) for k, v in d.items() if not str(k).startswith("_")}
    if isinstance(d, list):
        return [public(v) for v in d]
    return d


__all__ = ["RULES", "REFERENCE", "saliency", "train_decoder", "mean_image_baseline", "feature_error",
           "optimisation_vs_decoder", "public", "LOGITS"]
