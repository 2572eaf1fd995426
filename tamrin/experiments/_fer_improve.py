"""fer, part (d): an improvement of the q5c model chosen FROM the class-activation statistics, then measured.

The CAM statistics (tamrin.explain.report) give the share of map mass inside the central face box for
correct and for wrong predictions. The hypothesis, and with it the test-time change, follows their sign:
- wrong predictions put LESS mass in the centre (their evidence sits on the border: hair, hands, background)
  -> hide the border at test time (border masking): if the hypothesis holds, errors fed by the border go away;
- wrong predictions put at least as much mass in the centre (they misread the face itself) -> zoom in on the
  face centre at test time (centre crop, resized back): more pixels on the part the errors misread.
Flip test-time augmentation is a separate, also measured, item (fer.py), not the CAM-derived one.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["cam_hypothesis", "border_mask", "centre_zoom", "INTERVENTIONS"]

KEEP = 0.75  # share of each side kept by the border mask / the centre crop (the stats' box is the middle half)


def border_mask(x: torch.Tensor, keep: float = KEEP) -> torch.Tensor:
    """Pixels outside the centred box covering `keep` of each side set to the image's own mean (per channel)."""
    n, c, h, w = x.shape
    bh, bw = max(1, round(h * keep)), max(1, round(w * keep))
    top, left = (h - bh) // 2, (w - bw) // 2
    inside = torch.zeros(1, 1, h, w, dtype=torch.bool)
    inside[..., top:top + bh, left:left + bw] = True
    return torch.where(inside, x, x.mean((2, 3), keepdim=True).expand_as(x))


def centre_zoom(x: torch.Tensor, keep: float = KEEP) -> torch.Tensor:
    """The centred box covering `keep` of each side, resized back to the full size (a face-centred crop)."""
    n, c, h, w = x.shape
    bh, bw = max(1, round(h * keep)), max(1, round(w * keep))
    top, left = (h - bh) // 2, (w - bw) // 2
    return F.interpolate(x[..., top:top + bh, left:left + bw], size=(h, w), mode="bilinear", align_corners=False)


INTERVENTIONS = {"border-mask": (border_mask, f"border masking (outside the middle {KEEP:.0%} of each side)"),
                 "centre-zoom": (centre_zoom, f"a face-centred crop (the middle {KEEP:.0%} of each side, resized back)")}


def _se(v) -> float:
    return v if v == v else 0.0  # one image in a group: no standard error, count it as 0


def cam_hypothesis(st: dict, method_name: str, model_name: str) -> dict | None:
    """The intervention the statistics point to, and the sentences saying why (None: no correct/wrong groups)."""
    c, w = st["correct"], st["wrong"]
    if not (c["n"] and w["n"]):
        return None
    diff = c["mass_mean"] - w["mass_mean"]
    half = 1.96 * math.sqrt(_se(c["mass_se"]) ** 2 + _se(w["mass_se"]) ** 2)
    clear = abs(diff) > half
    kind = "border-mask" if diff > 0 else "centre-zoom"
    found = (f"The {method_name} maps of {model_name} put {100 * c['mass_mean']:.1f}% of their mass in the central face box for "
             f"the {c['n']:,} correct predictions and {100 * w['mass_mean']:.1f}% for the {w['n']:,} wrong ones, a difference "
             f"of {100 * diff:+.1f} points (95% interval ±{100 * half:.1f}, so the difference is "
             f"{'clear' if clear else 'not clear at this sample size; the sign alone picks the test'}).")
    if kind == "border-mask":
        hyp = ("Hypothesis: wrong predictions draw their evidence from the border (hair, hands, background) rather than "
               "the face. Test: hide the border at test time; if the hypothesis holds, accuracy rises, because the "
               "errors lose the evidence they were built on while correct predictions keep theirs.")
    else:
        hyp = ("Hypothesis: wrong predictions look at the face centre as much as correct ones, so they misread the face "
               "itself rather than looking elsewhere. Test: zoom in on the face centre at test time (more pixels on the "
               "part the errors misread); if the hypothesis holds, accuracy rises.")
    return {"kind": kind, "diff": diff, "half": half, "clear": clear, "why": found + " " + hyp,
            "fn": INTERVENTIONS[kind][0], "what": INTERVENTIONS[kind][1]}
