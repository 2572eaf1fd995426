"""hw4.t4a / t4b: what Grad-CAM's weights and its ReLU mean, shown on two tiny random CNNs (float64) whose
feature extractor's output A is Grad-CAM's target layer: one with a GAP → linear head (the CAM architecture,
where everything is exact) and one with a flatten → dense → ReLU → dense head (where it is first-order)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from tamrin.answers import Answer, answer, close, holds

K, HW, CLASSES, TARGET = 6, 8, 3, 0
EPS_FD = 1e-6
F32 = dict(atol=1e-6, rtol=1e-4)  # float32 (the library) against float64 (the checks)


class Tiny(nn.Module):
    def __init__(self, head: str):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, K, 3, padding=1), nn.ReLU())
        if head == "gap":
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(K, CLASSES))
        else:
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(K * HW * HW, 16), nn.ReLU(), nn.Linear(16, CLASSES))

    def forward(self, x):
        return self.head(self.features(x))


def _setup(head: str, seed: int):
    """(float64 copy of the model, A, ∂y^c/∂A): A and its gradient from tamrin.explain.gradcam, which runs in
    float32; the edits and finite differences below use the float64 copy, so they are an independent route."""
    import copy

    from tamrin.explain.gradcam import activations_and_grads

    torch.manual_seed(seed)
    m = Tiny(head).eval()
    x = torch.randn(1, 1, HW, HW, generator=torch.Generator().manual_seed(seed))
    _, acts, grads, _, _ = activations_and_grads(m, x, layer="features", target=TARGET)
    m64 = copy.deepcopy(m).double()
    with torch.no_grad():
        a64 = m64.features(x.double())
    return m64, a64, grads.double()


def score(m, a: torch.Tensor) -> float:
    """y^c computed from a (possibly edited) feature map A."""
    with torch.no_grad():
        return float(m.head(a)[0, TARGET])


def shift_sensitivity(m, acts) -> np.ndarray:
    """(1/HW)·d y^c / dε for A^k → A^k + ε (every entry of map k raised by the same ε), by centred differences."""
    out = []
    for k in range(K):
        e = torch.zeros_like(acts)
        e[0, k] = EPS_FD
        out.append((score(m, acts + e) - score(m, acts - e)) / (2 * EPS_FD) / (HW * HW))
    return np.array(out)


@answer("hw4.t4a")
def alpha(ctx) -> Answer:
    res = {}
    for head in ("gap", "dense"):
        m, acts, grads = _setup(head, ctx.seed)
        a = grads.mean((2, 3))[0].numpy()  # α_k^c, as tamrin.explain.gradcam computes it
        ablate = np.array([score(m, acts) - score(m, torch.where(torch.arange(K)[None, :, None, None] == k, 0.0, acts))
                           for k in range(K)])  # how much y^c drops when map k is removed
        first = a * acts.sum((2, 3))[0].numpy()  # α_k · Σ_ij A^k_ij: the first-order share of map k
        res[head] = {"alpha": a, "fd": shift_sensitivity(m, acts), "ablation": ablate, "first_order": first, "m": m}
    gap, dense = res["gap"], res["dense"]
    w = gap["m"].head[2].weight[TARGET].detach().numpy()
    agree = int(np.sum(np.sign(dense["first_order"]) == np.sign(dense["ablation"])))
    corr = float(np.corrcoef(dense["first_order"], dense["ablation"])[0, 1])
    text = (f"∂y^c/∂A^k_ij says how much the class score moves when one activation of map k moves; averaging over "
            f"the H·W positions gives α_k^c = (1/HW)·d y^c/dε for raising the whole map k by ε, i.e. the sensitivity "
            f"of y^c to the map's overall (global-average-pooled) strength: large positive α_k means 'the more of "
            f"feature k anywhere, the more class c', negative means it speaks against c. Averaging removes the "
            f"position-wise noise of single gradients and yields one weight per channel, as CAM's class weights. "
            f"Measured on a tiny random CNN (target layer {K} maps of {HW}x{HW}): α_k computed by tamrin.explain.gradcam "
            f"equals that uniform-shift derivative by finite differences for both heads; with a GAP → linear head "
            f"α_k^c = w_k^c/(HW) exactly (so Grad-CAM = CAM / HW) and α_k·Σ_ij A^k_ij is exactly the drop of y^c when "
            f"map k is removed; with a non-linear dense head that share (Grad-CAM's attribution to map k) predicts the "
            f"drop's sign for "
            f"{agree} of {K} maps (correlation {corr:.2f}).")
    rows = [[k, f"{dense['alpha'][k]:+.4g}", f"{dense['fd'][k]:+.4g}", f"{dense['first_order'][k]:+.4g}",
             f"{dense['ablation'][k]:+.4g}"] for k in range(K)]
    return Answer(
        text,
        values={"alpha_gap_head": gap["alpha"], "alpha_dense_head": dense["alpha"],
                "uniform_shift_fd_dense_head": dense["fd"], "first_order_share_dense": dense["first_order"],
                "ablation_drop_dense": dense["ablation"], "sign_agreement": agree, "correlation": corr},
        how="tamrin.explain.gradcam.activations_and_grads on two tiny float64 CNNs (seeded); edits of A fed to the head",
        checks=[close("α_k = (1/HW)·d y^c/dε for A^k + ε, centred differences (GAP head)", gap["alpha"], gap["fd"], **F32),
                close("α_k = (1/HW)·d y^c/dε for A^k + ε, centred differences (dense head)", dense["alpha"], dense["fd"], **F32),
                close("GAP head: α_k^c = w_k^c / (H·W)", gap["alpha"], w / (HW * HW), **F32),
                close("GAP head: α_k·Σ A^k = drop of y^c when map k is zeroed", gap["first_order"], gap["ablation"], **F32)],
        tables=[(["map k", "α_k (dense head)", "uniform-shift FD", "α_k·Σ A^k", "drop when map k zeroed"], rows,
                 f"Class {TARGET} of the dense-head tiny CNN")])


@answer("hw4.t4b")
def relu_part(ctx) -> Answer:
    eps = 0.05
    res = {}
    for head in ("gap", "dense"):
        m, acts, grads = _setup(head, ctx.seed)
        raw = (grads.mean((2, 3), keepdim=True) * acts).sum(1)[0]  # Σ_k α_k A^k before the ReLU
        y0 = score(m, acts)
        d = {}
        for name, mask in (("positive", raw > 0), ("negative", raw < 0)):
            scaled = acts * (1 + eps * mask.to(acts.dtype))[None, None]  # amplify every map at those positions
            d[name] = {"dy": score(m, scaled) - y0, "predicted": float(eps * raw[mask].sum()), "pixels": int(mask.sum())}
        res[head] = {"raw": raw.numpy(), "d": d}
    g, dn = res["gap"]["d"], res["dense"]["d"]
    ok_dense = dn["positive"]["dy"] > 0 > dn["negative"]["dy"]
    text = (f"The raw map Σ_k α_k A^k is, position by position, the first-order contribution of the activations "
            f"there to y^c: where it is positive, stronger features raise the class score; where it is negative they "
            f"lower it (they are evidence for other classes). ReLU keeps only the first kind, so the heat map shows "
            f"where the evidence *for* c is; without it the map would mix in the evidence against c (the paper finds that "
            f"the negative part highlights other classes and hurts localisation). Measured by amplifying all feature maps by "
            f"{eps:.0%} on the positive vs the negative region of the raw map: with a GAP → linear head y^c changes by "
            f"{g['positive']['dy']:+.4g} ({g['positive']['pixels']} positive pixels) vs {g['negative']['dy']:+.4g} "
            f"({g['negative']['pixels']} negative), exactly ε·Σ of the raw map over the region; with a non-linear "
            f"dense head by {dn['positive']['dy']:+.4g} vs {dn['negative']['dy']:+.4g}"
            + (" — the same signs: the kept region is the one whose increase raises y^c." if ok_dense else
               " — here the signs do not separate (the dense head's gradients vary too much with position)."))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw = res["dense"]["raw"]
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3))
    v = float(np.abs(raw).max())
    axes[0].imshow(raw, cmap="coolwarm", vmin=-v, vmax=v)
    axes[0].set_title("raw Σ α_k A^k", fontsize=9)
    axes[1].imshow(np.maximum(raw, 0), cmap="inferno")
    axes[1].set_title("ReLU (Grad-CAM)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig_path = ctx.figure(fig, "hw4_t4b_relu")
    return Answer(
        text,
        values={"eps": eps, **{f"{h}_head_{r}_{k}": res[h]["d"][r][k] for h in ("gap", "dense")
                               for r in ("positive", "negative") for k in ("dy", "predicted", "pixels")}},
        how="tamrin.explain.gradcam.activations_and_grads; feature maps scaled by (1 + ε) on a region and fed to the head",
        checks=[close("GAP head: Δy^c = ε·Σ_region raw map (positive region)", g["positive"]["dy"], g["positive"]["predicted"], **F32),
                close("GAP head: Δy^c = ε·Σ_region raw map (negative region)", g["negative"]["dy"], g["negative"]["predicted"], **F32),
                holds("GAP head: amplifying the positive region raises y^c, the negative region lowers it",
                      g["positive"]["dy"] > 0 > g["negative"]["dy"]),
                holds("both regions are non-empty (the demonstration is not vacuous)",
                      min(g["positive"]["pixels"], g["negative"]["pixels"], dn["positive"]["pixels"], dn["negative"]["pixels"]) > 0)],
        figures=[(fig_path, "Dense-head tiny CNN: the raw Grad-CAM map (red positive, blue negative) and its ReLU.")])
