"""deconv-inversion's sentences, each generated from the measured numbers it interprets (branches
tested in tests/test_inversion.py). Inputs are the plain dicts of _deconv_measure.public(...)."""
from __future__ import annotations

import numpy as np

NEAR_IDENTICAL = 0.9  # map correlation above which two classes' maps count as "nearly the same"
RULE_KEYS = ("gradient", "deconvnet", "guided")
SAME = 0.03  # correlations closer than this count as equal (a few hundred images: differences below it are noise)


def _at(fractions, curve, target=0.1):
    i = int(np.argmin(np.abs(np.asarray(fractions, float) - target)))
    return fractions[i], curve[i]


def _compare(a: float, b: float, tol: float = SAME) -> str:
    """'lower' / 'higher' / 'same' for a against b, with a tolerance for run-to-run noise."""
    return "lower" if a < b - tol else "higher" if a > b + tol else "same"


def specificity_text(sal: dict) -> str:
    m = sal["methods"]
    d, g, gb = m["deconvnet"]["corr_mean"], m["gradient"]["corr_mean"], m["guided"]["corr_mean"]
    s = (f"For each of {sal['n']:,} held-out images the map of the predicted class was correlated with the map of a "
         f"random other class: mean correlation {d:.2f} for the deconvnet ({m['deconvnet']['corr_above_0_9']:.0%} of images "
         f"above {NEAR_IDENTICAL}), {gb:.2f} for guided backpropagation and {g:.2f} for plain gradients "
         f"(Grad-CAM, for reference: {m['gradcam']['corr_mean']:.2f}). ")
    if d >= NEAR_IDENTICAL:
        s += ("The deconvnet gives nearly the same map whichever class it is asked about, as Springenberg et al. observed: "
              "without the forward ReLU mask the only class-dependent step is the top layer's weights, and the positive "
              "part of what they send down lights up the image's strong edges for almost any class. ")
    elif _compare(d, g) == "higher":
        s += "The deconvnet's maps depend less on the class than plain gradients' do, but they are not class-independent here. "
    else:
        s += "In this run the deconvnet's maps are not less class-specific than plain gradients'. "
    c = _compare(gb, d)
    if c == "lower":
        s += (f"Adding the forward mask back (guided backpropagation) lowers the correlation by {d - gb:.2f}: the mask is "
              "where this image's activations, and with them the class, enter the map. ")
    elif c == "higher":
        s += (f"Guided backpropagation is even less class-specific ({gb:.2f}): its forward mask ties the map to the units "
              "this image switched on, which are the same whatever class is asked about, so both rules largely draw the "
              "image rather than the class (Nie et al. 2018 and Adebayo et al. 2018 report the same). ")
    else:
        s += "Guided backpropagation is about as class-specific as the deconvnet. "
    if _compare(g, min(d, gb)) == "lower":
        s += (f"Only plain gradients change clearly with the class (correlation {g:.2f}; signed gradients "
              f"{m['gradient']['signed_corr_mean']:.2f}), because they pass negative evidence too.")
    else:
        s += "Plain gradients are not more class-specific than the other two here."
    if "image_corr_mean" in m["deconvnet"]:
        s += " " + image_specificity_text(sal)
    return s


def image_specificity_text(sal: dict) -> str:
    """Which changes a map more: the class asked about, or the image shown?"""
    m = sal["methods"]
    s = ("Asked about the same class for a different image, the maps correlate at "
         + ", ".join(f"{m[k]['image_corr_mean']:.2f} ({m[k]['label']})" for k in RULE_KEYS) + ". ")
    for k in ("deconvnet", "guided"):
        img, cls = m[k]["image_corr_mean"], m[k]["corr_mean"]
        c = _compare(img, cls)
        s += (f"{'For' if k == 'deconvnet' else 'for'} {m[k]['label']} " + {"lower": "the image changes the map more than the class does",
                                          "higher": "the class changes the map more than the image does",
                                          "same": "image and class change the map about equally"}[c]
              + f" ({img:.2f} across images vs {cls:.2f} across classes)" + ("; " if k == "deconvnet" else "."))
    if _compare(m["deconvnet"]["image_corr_mean"], m["guided"]["image_corr_mean"]) == "higher":
        s += (" Without the forward mask the deconvnet sees the image only through the max-pooling switches, so its maps "
              "vary less from image to image than guided backpropagation's.")
    return s


def _beats(sal: dict, area: str) -> list[str]:
    return [k for k in RULE_KEYS if sal["methods"][k][area] < sal["random"][area]]


def _deletion_part(sal: dict, curve: str, area: str, what: str) -> str:
    f = sal["fractions"]
    m, rnd = sal["methods"], sal["random"]
    f10, r10 = _at(f, rnd[curve])
    parts = [f"{m[k]['label']} {_at(f, m[k][curve])[1]:.1%}" for k in (*RULE_KEYS, "gradcam")]
    s = (f"the top {f10:.0%} of the image removed as {what} (set to the data mean), accuracy is " + ", ".join(parts)
         + f", against {r10:.1%} for the same amount of random {what}. ")
    faster = _beats(sal, area)
    slower = [k for k in RULE_KEYS if k not in faster]
    best = min(RULE_KEYS, key=lambda k: m[k][area])
    if faster:
        s += ("Averaged over the removal schedule, " + ", ".join(m[k]["label"] for k in faster)
              + (" removes" if len(faster) == 1 else " remove") + " the evidence faster than random removal")
        s += (f"; {', '.join(m[k]['label'] for k in slower)} not." if slower else ".")
    else:
        s += f"Averaged over the removal schedule, no rule removes the evidence faster than random {what}."
    s += (f" The steepest curve is {m[best]['label']}'s (mean accuracy {m[best][area]:.1%} over the schedule, "
          f"random {rnd[area]:.1%}).")
    return s


def deletion_text(sal: dict) -> str:
    p = sal.get("patch", 4)
    s = (f"Deletion (accuracy before removal: {sal['accuracy']:.1%}). With "
         + _deletion_part(sal, "deletion", "deletion_area", "single pixels"))
    if not _beats(sal, "deletion_area") and "deletion_patch" in sal["random"]:
        s += (" Random single pixels are the harder baseline here because they scatter holes over the whole image, a "
              "pattern the CNN never saw, while salient pixels come in clusters; removing squares gives both the same shape of hole.")
    if "deletion_patch" in sal["random"]:
        s += f" Removing {p}x{p} squares instead, with " + _deletion_part(sal, "deletion_patch", "deletion_patch_area", f"{p}x{p} squares")
    return s


def inversion_text(rows: list[dict], baseline: dict) -> str:
    conv = [r for r in rows if r["layer"] != "logits"]
    s = ""
    if len(conv) >= 2:
        a, b = conv[0], conv[-1]
        mses = [r["mse"] for r in conv]
        trend = ("grows with every step in depth" if all(x < y for x, y in zip(mses, mses[1:])) else
                 "grows with depth overall, though not at every step" if b["mse"] > a["mse"] else
                 "does not grow with depth in this run")
        s += (f"The reconstruction error {trend}: MSE {a['mse']:.4f} ({a['psnr']:.1f} dB PSNR) from {a['label']} to "
              f"{b['mse']:.4f} ({b['psnr']:.1f} dB) from {b['label']}. Deeper layers keep what matters for the class and drop "
              "the exact pixel values, so the decoder, which returns the average image consistent with the features, "
              "blurs more. ")
    logit = next((r for r in rows if r["layer"] == "logits"), None)
    if logit is not None:
        beats = logit["mse"] < baseline["mse"]
        s += (f"From the {logit['dims']} class scores alone the decoder reaches MSE {logit['mse']:.4f} "
              f"({logit['psnr']:.1f} dB), {'below' if beats else 'not below'} the {baseline['mse']:.4f} "
              f"({baseline['psnr']:.1f} dB) of always answering the mean training image, and the mean colour of its "
              f"reconstructions correlates with the original's at r = {logit['colour_corr']:.2f}")
        if beats and logit["colour_corr"] >= 0.5:
            s += (": colour and a rough layout survive up to the logits, as Dosovitskiy & Brox found — the class scores "
                  "are not a pure class label.")
        elif logit["colour_corr"] >= 0.3:
            s += ": some colour information survives up to the logits, but little else."
        else:
            s += ": in this run the logits keep almost nothing of the image beyond the class."
    return s


def optimisation_text(o: dict) -> str:
    s = (f"At {o['label']} on {o['n']} held-out images, gradient descent on the input ({o['steps']} Adam steps, TV weight "
         f"{o['tv_weight']:g}) reaches a relative feature error of {o['opt_feature_error']:.2f} and a pixel MSE of "
         f"{o['opt_mse']:.4f} ({o['opt_psnr']:.1f} dB); the decoder's reconstructions of the same images have feature "
         f"error {o['dec_feature_error']:.2f} and MSE {o['dec_mse']:.4f} ({o['dec_psnr']:.1f} dB). ")
    better_pixels = o["dec_mse"] < o["opt_mse"]
    better_feats = o["opt_feature_error"] < o["dec_feature_error"]
    if better_pixels and better_feats:
        s += ("The optimisation matches the features more closely yet is further from the image: many images share those "
              "features, and it finds one of them, while the decoder learned which of them natural images tend to be.")
    elif better_pixels:
        s += "The decoder is closer to the image and to its features: the optimisation did not converge as far in this budget."
    elif better_feats:
        s += ("Here the optimisation is closer both in features and in pixels: with this prior and budget it beats the "
              "decoder at this layer.")
    else:
        s += "The optimisation is closer in pixels but not in features, which suggests its TV prior, not the features, did the work."
    return s


def answer_p4q2(sal: dict, rows: list[dict], baseline: dict, opt: dict | None) -> list[str]:
    """The answer to p4.q2 as paragraphs, from the measurements."""
    m = sal["methods"]
    d, gb = m["deconvnet"]["corr_mean"], m["guided"]["corr_mean"]
    first = ("**Deconvolution (Zeiler & Fergus; Springenberg et al., arXiv 1412.6806).** A deconvnet, guided "
             "backpropagation and plain gradients all run the network backwards from one class score to the pixels and "
             "differ only in the step back through each ReLU: the gradient keeps the forward mask [x > 0], the deconvnet "
             "keeps only positive incoming signals [g > 0], guided backpropagation keeps both. The result is a picture, in "
             "input space, of what a unit or class responds to. ")
    g = m["gradient"]["corr_mean"]
    c = _compare(gb, d)
    first += f"Measured here (correlation between the maps of two different classes, 1 = class-blind): deconvnet {d:.2f}, "
    first += f"guided backpropagation {gb:.2f}, plain gradients {g:.2f}. "
    if d >= NEAR_IDENTICAL:
        first += "The deconvnet visualises what in the image excites the network, nearly independently of the class"
    else:
        first += "The deconvnet's maps are only partly class-dependent"
    first += {"lower": "; guided backpropagation's forward mask makes its maps more class-specific",
              "higher": "; guided backpropagation is even more class-blind: its maps are sharper pictures of the image",
              "same": "; guided backpropagation is about as class-specific"}[c]
    first += (", and only plain gradients clearly follow the class. " if _compare(g, min(d, gb)) == "lower" else
              ", and plain gradients do not follow the class more clearly. ")
    dl = sal["methods"]
    area = "deletion_patch_area" if "deletion_patch_area" in sal["random"] else "deletion_area"
    beat = [dl[k]["label"] for k in _beats(sal, area)]
    unit = f"{sal.get('patch', 4)}x{sal.get('patch', 4)} squares" if area == "deletion_patch_area" else "pixels"
    first += (f"All three still point at pixels the network uses: deleting their most salient {unit} first lowers accuracy "
              f"faster than deleting random {unit}." if len(beat) == 3 else
              f"Deleting the most salient {unit} first lowers accuracy faster than deleting random {unit} only for "
              f"{', '.join(beat)}." if beat else
              f"None of them finds {unit} whose deletion hurts more than random deletion in this run.")
    if area == "deletion_patch_area" and not _beats(sal, "deletion_area"):
        first += " (Removed as single pixels, random ones hurt more: scattered holes are a pattern the CNN never saw.)"
    second = ("**Inversion (Dosovitskiy & Brox, arXiv 1506.02753).** Instead of asking which pixels matter, invert the "
              "representation: train an up-convolutional network to reconstruct the image from a layer's features, and what "
              "comes back is what the layer has kept. ")
    conv = [r for r in rows if r["layer"] != "logits"]
    if len(conv) >= 2:
        falls = conv[-1]["psnr"] < conv[0]["psnr"]
        second += (f"Measured here: PSNR {'falls' if falls else 'does not fall'} from {conv[0]['psnr']:.1f} dB at {conv[0]['label']} "
                   f"to {conv[-1]['psnr']:.1f} dB at {conv[-1]['label']}"
                   + (": deeper layers discard more of the image (they are more invariant)." if falls
                      else ", so depth did not discard more detail in this run."))
    logit = next((r for r in rows if r["layer"] == "logits"), None)
    if logit is not None:
        strong = logit["colour_corr"] >= 0.5
        second += (f" From the logits alone the reconstruction's mean colour {'still correlates strongly' if strong else 'correlates only weakly'} "
                   f"with the original's (r = {logit['colour_corr']:.2f}) and its MSE "
                   + ("beats the mean-image baseline: the class scores keep more than the class." if logit["mse"] < baseline["mse"]
                      else "does not beat the mean-image baseline."))
    if opt is not None:
        closer_feats, further_pix = opt["opt_feature_error"] < opt["dec_feature_error"], opt["opt_mse"] > opt["dec_mse"]
        second += (" Optimisation-based inversion (Mahendran & Vedaldi) needs no training; at "
                   f"{opt['label']} it " + ("matches the features more closely but lands further from the image than the "
                                            "decoder, which learned what natural images with those features look like."
                                            if closer_feats and further_pix else
                                            f"reaches MSE {opt['opt_mse']:.4f} against the decoder's {opt['dec_mse']:.4f}."))
    third = ("In short, deconvolution-style maps answer *where in this image* the network's evidence lies, inversion answers "
             "*what a layer still knows* about the image; the measurements above say how far each answer can be trusted.")
    return [first, second, third]
