"""fer: what the assignment (p4.q5) asks for vs what this run trained, and the image counts before/after augmentation.

The assignment's networks are built as real torch modules (on the meta device: shapes and parameter counts
without allocating the 0.5 GB of the real VGG16) so that every number in the deviations table is counted,
never typed: VGG16 at 224x224x3 with its torchvision head for 8 classes (q5b), and Hewitt & Gunes' compact
VGG at 128x128x3 for 8 classes (q5c, flatten 4x4x128 = 2,048).
"""
from __future__ import annotations

import torch

from tamrin.experiments._fer_transfer import IMAGENET_MEAN
from tamrin.models import count_params, create
from tamrin.report import Section

__all__ = ["ASSIGNMENT", "reference_networks", "flatten_width", "net_label", "deviations_section", "augmentation_counts",
           "augmentation_counts_section"]

# what p4.q5 states (seeds/004_*, the question text and its figure 2)
ASSIGNMENT = {"classes": 8, "per_class": 1200, "data": "AffectNet (1,200 images per class, 8 classes)",
              "vgg16_size": 224, "vgg16_pretraining": "ImageNet", "compact_size": 128, "compact_flatten": 2048}


def flatten_width(model) -> int | None:
    """Inputs of the compact VGG's first dense layer (grid² x channels); None for a GAP head."""
    grid = getattr(model, "grid", None)
    return None if grid is None else int(grid * grid * model.num_features)


def reference_networks(classes: int = ASSIGNMENT["classes"]) -> dict:
    """{"vgg16": (params, module), "hg_vgg": (params, module)} of the networks the assignment names."""
    with torch.device("meta"):
        vgg = create("vgg16", num_classes=classes, input_size=ASSIGNMENT["vgg16_size"])  # torchvision head (4096-4096-k)
        hg = create("hg_vgg", num_classes=classes, input_size=ASSIGNMENT["compact_size"], in_chans=3)
    return {"vgg16": (count_params(vgg), vgg), "hg_vgg": (count_params(hg), hg)}


def net_label(name: str, chw, k: int) -> str:
    """The network a parameter count belongs to, e.g. "Compact VGG (Hewitt & Gunes), 48×48×1 input, 7 classes"
    (chw: the input shape (C, H, W), written H×W×C as the assignment does)."""
    c, h, w = (int(v) for v in chw)
    return f"{name}, {h}×{w}×{c} input, {k} classes"


def deviations_section(cfg, d, counts: dict, trained: dict, tr) -> Section:
    """ONE table: each thing the assignment fixes, its value there and in this run.
    counts: per-class training counts; trained: tag -> (params, model, input shape (C, H, W)); tr: transfer output or None."""
    ref = reference_networks()
    k = len(d.classes)
    per = sorted(counts.values())
    rows = [["data set", ASSIGNMENT["data"], f"{k} classes from the folder names ({', '.join(map(str, d.classes))})"],
            ["number of classes", ASSIGNMENT["classes"], k],
            ["training images per class", f"{ASSIGNMENT['per_class']:,}",
             (f"{per[0]:,}" if per[0] == per[-1] else f"{per[0]:,} to {per[-1]:,}")
             + (f" used (of {d.full_train:,} training images in the folder)" if d.full_train != sum(per) else "")]]
    hg_p, hg_m, hg_shape = trained["hg_vgg"]
    c, h, w = hg_shape
    fl = flatten_width(hg_m)
    rows += [["compact VGG (q5c): input", f"{ASSIGNMENT['compact_size']}×{ASSIGNMENT['compact_size']}×3", f"{h}×{w}×{c}"],
             ["compact VGG: flatten width (first dense layer's inputs)", f"{ASSIGNMENT['compact_flatten']:,}",
              f"{fl:,} ({hg_m.grid}×{hg_m.grid}×{hg_m.num_features})"],
             ["compact VGG: width multiplier", 1, f"{cfg.compact_width:g}"],
             ["compact VGG: parameters", f"{ref['hg_vgg'][0]:,} (128×128×3 input, 8 classes)", f"{hg_p:,} ({h}×{w}×{c} input, {k} classes)"],
             ["compact VGG: dropout (after pools / dense)", "Gaussian 0.2 / 0.5", f"{cfg.dropout_conv:g} / {cfg.dropout_fc:g}"]]
    v_full = f"{ref['vgg16'][0]:,} (the real VGG16: 224×224×3 input, torchvision's 4096-4096-8 head)"
    if tr is None:
        rows += [["VGG16 transfer (q5b)", f"VGG16 pretrained on ImageNet, {v_full}", "not run (transfer.enabled=false)"]]
    else:
        t = cfg.transfer
        vp = trained["vgg16"][0]
        # torchvision's ImageNet file is the only backbone standardised with ImageNet's mean; tamrin's own
        # backbone files (this run's or an earlier one's) are pretrained on CIFAR-10
        imagenet = tuple(tr["pretrain"]["mean"]) == IMAGENET_MEAN
        pre = "ImageNet (the published file)" if imagenet else (
            "CIFAR-10, pretrained in this run" if tr["pretrain"].get("history") else "CIFAR-10 (a saved backbone file)")
        rows += [["VGG16 (q5b): input", f"{ASSIGNMENT['vgg16_size']}×{ASSIGNMENT['vgg16_size']}×3", f"{t.size}×{t.size}×3"],
                 ["VGG16: width multiplier", 1, f"{t.width:g}"],
                 ["VGG16: pretraining data", ASSIGNMENT["vgg16_pretraining"], pre],
                 ["VGG16: head", "torchvision's 3 dense layers (25,088 → 4,096 → 4,096 → 8)",
                  f"global average pooling → {t.head_hidden or 'no'} hidden → {k}"],
                 ["VGG16: parameters", v_full, f"{vp:,} ({t.size}×{t.size}×3 input, {k} classes)"]]
    s = Section("Deviations from the assignment", level=2)
    s.table(["item", "assignment (p4.q5)", "this run"], rows,
            "Every parameter count is counted on a torch module built for that setting (the assignment's networks on "
            "the meta device); the other values come from this run's configuration and data.")
    ratio = ref["vgg16"][0] / hg_p
    txt = (f"The assignment's comparison (q5c) is the real VGG16 ({ref['vgg16'][0]:,} parameters) against the compact VGG "
           f"({ref['hg_vgg'][0]:,} at the paper's 128 px); the compact VGG trained here has {hg_p:,}, "
           f"{ratio:,.0f}x fewer than the real VGG16.")
    if tr is not None:
        vp = trained["vgg16"][0]
        txt += (f" The VGG16 trained here is reduced to {vp:,} parameters, "
                + (f"fewer than the compact VGG ({vp / hg_p:.2f}x its count): in this run it is not the heavy network the "
                   "question means, so its size cannot stand for the real VGG16's." if vp < hg_p else
                   f"{vp / hg_p:.1f}x the compact VGG's, still {ref['vgg16'][0] / vp:,.0f}x below the real VGG16."))
    s.text(txt)
    return s


def seen_per_epoch(n: int, tc) -> int:
    """Training images one epoch pushes through the network (every image once, or fewer with max_steps_per_epoch)."""
    return min(n, tc.max_steps_per_epoch * tc.batch_size) if tc.max_steps_per_epoch else n


def augmentation_counts(counts: dict, runs: list[tuple[str, int, object]]) -> tuple[list[str], list[list]]:
    """Per class (counts: class -> training images): the original images, then the augmented images seen by each
    training run (name, epochs, TrainConfig)."""
    n = sum(counts.values())
    cols = ["class", "training images (before augmentation)"] + [f"augmented images seen: {nm} ({e} epochs)" for nm, e, _ in runs]
    share = [seen_per_epoch(n, tc) / max(1, n) for _, _, tc in runs]
    rows = [[cl, c] + [int(round(e * c * f)) for (_, e, _), f in zip(runs, share)] for cl, c in counts.items()]
    return cols, rows


def augmentation_counts_section(d, runs: list[tuple[str, int, object]]) -> tuple[Section, dict]:
    """The table of image counts before and after (on-the-fly) augmentation, per class and in total."""
    import numpy as np

    y = d.y["train"].numpy()
    per = {str(c): int(v) for c, v in zip(d.classes, np.bincount(y, minlength=len(d.classes)))}
    cols, rows = augmentation_counts(per, runs)
    total = ["total", sum(per.values())] + [sum(r[i] for r in rows) for i in range(2, len(cols))]
    s = Section("Image counts before and after augmentation", level=2)
    s.table(cols, rows + [total], "Training images per class before augmentation, and the augmented versions each training "
            "run saw (epochs × images; each is a new random variant, nothing is stored).")
    capped = [nm for nm, _, tc in runs if seen_per_epoch(total[1], tc) < total[1]]
    if capped:
        s.text(f"{', '.join(capped)}: each epoch was capped at max_steps_per_epoch batches, so fewer than all training "
               "images were seen per epoch; the per-class numbers are the expected counts under random batching.")
    return s, {"before": total[1], "after": dict(zip([nm for nm, _, _ in runs], total[2:]))}
