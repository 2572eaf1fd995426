"""A report section that shows where a trained classifier looks, and measures it.

`explain_sections(run, model, images, labels, classes)` explains every validation image (the map of
the *predicted* class), then
- draws, for each class, `per_class` correctly and `per_class` wrongly classified images with maps;
- measures over the whole set the share of map mass inside a region (the central face box, the
  object's box...) for correct vs wrong predictions, per class, and where each map peaks;
- writes the analysis from those numbers (every figure in the text comes from this run).
"""
from __future__ import annotations

import math
import sys

import numpy as np
import torch

from tamrin.errors import UserError
from tamrin.explain import explain
from tamrin.explain.overlay import normalize, overlay, to_display
from tamrin.explain.stats import central_mask, mass_in_region
from tamrin.report import Section

__all__ = ["explain_sections", "explain_all", "region_statistics"]

NAMES = {"gradcam": "Grad-CAM", "cam": "CAM", "gradcam++": "Grad-CAM++", "guided": "guided backpropagation",
         "guided-gradcam": "guided Grad-CAM"}


def _as_tensor(images) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images.float()
    a = np.asarray(images)
    if a.dtype == np.uint8:  # (N, H, W, C) uint8 as in tamrin.data -> (N, C, H, W) in [0, 1]
        a = (a if a.ndim == 4 else a[..., None]).transpose(0, 3, 1, 2) / 255.0
    return torch.as_tensor(a, dtype=torch.float32)


def explain_all(model, x: torch.Tensor, method: str = "gradcam", layer=None, batch_size: int = 64):
    """Maps (N, H, W) float32 numpy, predictions and confidences for every image, in batches."""
    from tqdm import tqdm

    if len(x) == 0:
        raise UserError("no images to explain")
    device = next(model.parameters(), torch.empty(0)).device
    maps, preds, conf = [], [], []
    starts = range(0, len(x), batch_size)
    for i in tqdm(starts, desc=f"explain ({method})", disable=not sys.stderr.isatty(), leave=False):
        e = explain(model, x[i:i + batch_size].to(device), method, layer)
        maps.append(e.maps.cpu().numpy().astype(np.float32))
        preds.append(e.predicted.cpu().numpy())
        conf.append(e.probs.max(1).values.cpu().numpy())
    return np.concatenate(maps), np.concatenate(preds), np.concatenate(conf), e.layer


def _mean_se(v: np.ndarray) -> tuple[float, float, int]:
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se, len(v)


def region_statistics(maps: np.ndarray, region: np.ndarray, labels: np.ndarray, preds: np.ndarray) -> dict:
    """Mass share inside the region and peak location, overall, for correct/wrong and per class."""
    mass = mass_in_region(maps, region)
    reg = np.broadcast_to(region.astype(bool), maps.shape)
    flat = maps.reshape(len(maps), -1)
    peak_in = reg.reshape(len(maps), -1)[np.arange(len(maps)), flat.argmax(1)] & (flat.max(1) > 0)
    correct = labels == preds
    out = {"n": int(len(maps)), "area_share": float(reg.mean()), "empty_maps": int(np.isnan(mass).sum()),
           "accuracy": float(correct.mean()), "per_image_mass": mass, "is_correct": correct}
    for key, sel in (("all", np.ones_like(correct)), ("correct", correct), ("wrong", ~correct)):
        m, se, n = _mean_se(mass[sel])
        out[key] = {"mass_mean": m, "mass_se": se, "n": n, "n_images": int(sel.sum()),
                    "peak_in_region": float(peak_in[sel].mean()) if sel.any() else float("nan")}
    return out


def _pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.1f}%"


def _mass_cell(ms: tuple, n_images: int, kind: str):
    """The mean mass, or why there is none: no such predictions, or only empty maps."""
    if n_images == 0:
        return f"no {kind} predictions"
    return ms[0] if ms[2] else "maps empty"


def _analysis(st: dict, method: str, region_name: str) -> str:
    a, c, w = st["all"], st["correct"], st["wrong"]
    txt = (f"Over the {st['n']:,} validation images, the {NAMES[method]} map of the predicted class puts on average "
           f"{_pct(a['mass_mean'])} of its mass inside the {region_name}, which covers {_pct(st['area_share'])} of the image "
           f"(a map spread evenly would put exactly that share there), a concentration of "
           f"{a['mass_mean'] / st['area_share']:.2f}x. The map's peak lies inside the region for {_pct(a['peak_in_region'])} of the images.")
    if st["empty_maps"]:
        txt += (f" {st['empty_maps']:,} maps ({_pct(st['empty_maps'] / st['n'])}) were empty (no positive evidence for the "
                f"predicted class at this layer) and are left out of the mass statistics.")
    if w["n"] == 0 or c["n"] == 0:
        return txt + f"\n\nAll {st['n']:,} images fall in one group (accuracy {_pct(st['accuracy'])}), so correct and wrong predictions cannot be compared."
    diff = c["mass_mean"] - w["mass_mean"]
    half = 1.96 * math.sqrt((c["mass_se"] if c["mass_se"] == c["mass_se"] else 0) ** 2 + (w["mass_se"] if w["mass_se"] == w["mass_se"] else 0) ** 2)
    if diff - half > 0:
        verdict = ("correct predictions rely more on the region than wrong ones: when the model errs, its evidence more "
                   "often comes from elsewhere (background, borders, context)")
    elif diff + half < 0:
        verdict = ("wrong predictions concentrate *more* on the region than correct ones, so the errors are not explained "
                   "by looking in the wrong place; they come from misreading what is inside it")
    else:
        verdict = "at this sample size the two groups do not differ measurably in where the map sits"
    return txt + (f"\n\nCorrect predictions ({c['n']:,} images) put {_pct(c['mass_mean'])} ± {_pct(c['mass_se'])} (standard error) "
                  f"of the map inside the region, wrong ones ({w['n']:,}) {_pct(w['mass_mean'])} ± {_pct(w['mass_se'])}: a difference "
                  f"of {100 * diff:+.1f} points (95% interval {100 * (diff - half):+.1f} to {100 * (diff + half):+.1f}), so {verdict}. "
                  f"The peak falls inside the region for {_pct(c['peak_in_region'])} of correct and {_pct(w['peak_in_region'])} of wrong predictions.")


def _empty_reason(kind: str, name: str, have: int, n_class: int) -> str:
    """Why a grid cell holds no image: the words drawn inside it."""
    if n_class == 0:
        return f"no {name} images\namong those explained"
    if have == 0:
        return f"no {kind} prediction\nof {name} among its\n{n_class} explained images"
    return f"only {have} {kind}\nprediction{'s' if have > 1 else ''} of {name}\n(of {n_class} explained)"


def _examples_figure(x, maps, labels, preds, conf, classes, per_class, region, seed=0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    disp = to_display(x)
    heat = normalize(maps)
    cols = 2 * per_class
    fig, axes = plt.subplots(len(classes), cols, figsize=(1.5 * cols + 1.8, 1.6 * len(classes) + 0.4), squeeze=False)
    missing = 0
    for k, name in enumerate(classes):
        right = np.flatnonzero((labels == k) & (preds == k))
        wrong = np.flatnonzero((labels == k) & (preds != k))
        n_class = int((labels == k).sum())
        # fixed slots: the first per_class columns are correct predictions, the others wrong ones
        slots = [(i, True) for i in rng.permutation(right)[:per_class]]
        slots += [("correct", len(right))] * (per_class - len(slots))
        w = [(i, False) for i in rng.permutation(wrong)[:per_class]]
        slots += w + [("wrong", len(wrong))] * (per_class - len(w))
        for j, ax in enumerate(axes[k]):
            ax.set_xticks([])
            ax.set_yticks([])
            i, ok = slots[j]
            if isinstance(i, str):  # a cell that cannot be filled says why, inside the cell
                missing += 1
                ax.set_facecolor("0.93")
                for sp in ax.spines.values():
                    sp.set_color("0.8")
                ax.text(0.5, 0.5, _empty_reason(i, str(name), ok, n_class), ha="center", va="center", fontsize=6,
                        color="0.3", transform=ax.transAxes)
                continue
            ax.imshow(overlay(disp[i], heat[i]))
            if region is not None:
                r = region if region.ndim == 2 else region[i]
                ax.contour(r.astype(float), levels=[0.5], colors="white", linewidths=0.6)
            ax.set_title(("ok: " if ok else "as ") + f"{classes[preds[i]]} {conf[i]:.2f}", fontsize=6,
                         color="black" if ok else "firebrick")
        axes[k, 0].set_ylabel(f"true: {name}", fontsize=7)  # every row, filled or not (the axes stay on)
    for j in range(cols):  # column headings above the first row's titles
        axes[0, j].annotate("correct" if j < per_class else "wrong", xy=(0.5, 1.32), xycoords="axes fraction",
                            ha="center", va="bottom", fontsize=8, fontweight="bold",
                            color="black" if j < per_class else "firebrick")
    sm = plt.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0, 1), cmap="jet")
    fig.colorbar(sm, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01).set_label("map (per image scale)", fontsize=6)
    return fig, missing


def _mass_histogram(st: dict, region_name: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3))
    bins = np.linspace(0, 1, 26)
    for key, colour in (("correct", "tab:blue"), ("wrong", "tab:red")):
        sel = st["is_correct"] if key == "correct" else ~st["is_correct"]
        v = st["per_image_mass"][sel]
        v = v[~np.isnan(v)]
        if len(v):
            ax.hist(v, bins=bins, alpha=0.55, density=True, color=colour, label=f"{key} (n={len(v):,})")
    ax.axvline(st["area_share"], color="black", ls="--", lw=1, label="area share (uniform map)")
    ax.set_xlabel(f"share of map mass inside the {region_name}")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    return fig


def explain_sections(run, model, images, labels, classes, layer=None, method: str = "gradcam", region_mask=None,
                     per_class: int = 2, region_name: str | None = None, batch_size: int = 64) -> list[Section]:
    """Sections explaining `model` on validation `images` ((N, C, H, W) model-ready floats, or
    (N, H, W, C) uint8) with true `labels`. region_mask: (H, W) or (N, H, W) bool; default: the
    central box covering half of each side (a quarter of the area)."""
    x = _as_tensor(images)
    labels = np.asarray(labels).astype(np.int64)
    if len(labels) != len(x):
        raise UserError(f"explain_sections: {len(x)} images but {len(labels)} labels")
    maps, preds, conf, used_layer = explain_all(model, x, method, layer, batch_size)
    if region_mask is None:
        region = central_mask(*maps.shape[1:], fraction=0.5)
        region_name = region_name or "central box (the middle half of each side)"
    else:
        region = np.asarray(region_mask).astype(bool)
        region_name = region_name or "given region"
    st = region_statistics(maps, region, labels, preds)
    run.write_json(f"explain_{method}_stats.json", {k: v for k, v in st.items() if k not in ("per_image_mass", "is_correct")})

    rows = []
    for k, name in enumerate(classes):
        sel = labels == k
        c = _mean_se(st["per_image_mass"][sel & st["is_correct"]])
        w = _mean_se(st["per_image_mass"][sel & ~st["is_correct"]])
        # a cell without a value says why (no NaN in a table)
        rows.append([str(name), int(sel.sum()), float((preds[sel] == k).mean()) if sel.any() else "no images",
                     _mass_cell(c, int((sel & st["is_correct"]).sum()), "correct"),
                     _mass_cell(w, int((sel & ~st["is_correct"]).sum()), "wrong")])
    best = max((r for r in rows if isinstance(r[3], float)), key=lambda r: r[3], default=None)
    worst = min((r for r in rows if isinstance(r[3], float)), key=lambda r: r[3], default=None)

    sec = Section(f"Where the model looks: {NAMES[method]}" + (f" at layer `{used_layer}`" if used_layer else ""))
    sec.text(_analysis(st, method, region_name))
    if best is not None and best is not worst:
        sec.text(f"Among correct predictions, class **{best[0]}** concentrates most on the region ({_pct(best[3])} of the mass) "
                 f"and **{worst[0]}** least ({_pct(worst[3])}); the table lists every class.")
    fig, missing = _examples_figure(x, maps, labels, preds, conf, classes, per_class, region)
    path = run.save_figure(fig, f"explain_{method}_examples")
    cap = (f"{NAMES[method]} maps of the predicted class: per true class (rows) {per_class} correctly and {per_class} wrongly "
           f"classified validation images (picked at random), with predicted class and confidence; white outline: the {region_name}.")
    cap += " Columns: correct predictions, then wrong ones (red: the class predicted instead); rows: the true class."
    if missing:
        cap += (f" {missing} cells hold no image because a class had too few correct or wrong predictions; each says so "
                "inside the cell.")
    sec.figure(path, cap, base=run.path)
    path = run.save_figure(_mass_histogram(st, region_name), f"explain_{method}_mass")
    sec.figure(path, f"Distribution over all {st['n']:,} validation images of the share of map mass inside the {region_name}.", width=0.7, base=run.path)
    sec.table(["class", "images", "accuracy", "mass in region (correct)", "mass in region (wrong)"], rows,
              f"Share of {NAMES[method]} mass inside the {region_name}, per true class (area share {_pct(st['area_share'])}).")
    return [sec]
