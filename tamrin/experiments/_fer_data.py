"""fer, part (a): loading any train/validation[/test] image folder, class balance and weights, samples
before and after augmentation. Nothing here knows the number of classes, the image size or the colours."""
from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

import numpy as np
import torch

from tamrin.data import load_image_folder, to_tensor
from tamrin.data.fer import face_folder
from tamrin.data.paths import display_path
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.report.standard import split_table

__all__ = ["FaceData", "load_face_data", "class_weights", "data_sections", "per_class_picks"]


@dataclass
class FaceData:
    root: str
    classes: list
    x: dict          # split -> float tensor (N, C, H, W) in [0, 1]
    y: dict          # split -> int64 tensor (N,)
    images: dict     # split -> uint8 NHWC (for figures)
    skipped: int
    full_train: int  # training images before any cap


def load_face_data(cfg, run) -> FaceData:
    root = face_folder(cfg.data_dir)
    mode = None if cfg.color_mode == "auto" else cfg.color_mode
    size = cfg.image_size or None
    test_root = Path(cfg.test_dir).expanduser() if cfg.test_dir else root / "test"
    if cfg.test_dir and not test_root.is_dir():
        from tamrin.errors import UserError

        raise UserError(f"test_dir {test_root} is not a folder of class folders")
    splits = ["train", "validation"] + (["test"] if test_root.is_dir() else [])
    ds = {"train": load_image_folder(root, "train", size=size, mode=mode, run=run)}
    classes = ds["train"].classes
    # the other splits are labelled with train's class list, matched by folder name: a split missing a class keeps
    # every other class's number; a class train does not have is an error (tamrin.data.folder.align_classes)
    ds["validation"] = load_image_folder(root, "validation", size=size, mode=mode, run=run, classes=classes)
    if "test" in splits:
        ds["test"] = load_image_folder(test_root.parent, test_root.name, size=size, mode=mode, run=run, classes=classes)
    if mode is None:  # "auto": one mode for every split (grey only if all splits are grey)
        c = max(d.images.shape[3] for d in ds.values())
        for d in ds.values():
            if d.images.shape[3] != c:
                d.images = np.repeat(d.images, c, axis=3)
    full_train = len(ds["train"])
    caps = {"train": cfg.train_per_class, "validation": cfg.val_per_class, "test": cfg.val_per_class}
    for s in splits:
        if caps[s]:
            ds[s] = ds[s].subset(_cap_per_class(ds[s].labels, caps[s], cfg.seed))
    x, y, images = {}, {}, {}
    for s in splits:
        x[s], y[s] = to_tensor(ds[s])
        images[s] = ds[s].images
    return FaceData(str(root), classes, x, y, images, sum(len(d.skipped) for d in ds.values()), full_train)


def _cap_per_class(labels: np.ndarray, cap: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(labels == k))[:cap] for k in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def class_weights(y: torch.Tensor, k: int) -> torch.Tensor:
    """w_c = N / (K * n_c) ("balanced"): every class contributes the same total weight to the loss."""
    counts = torch.bincount(y, minlength=k).float()
    return len(y) / (k * counts.clamp(min=1))


def per_class_picks(y: np.ndarray, k: int, n: int, seed: int) -> np.ndarray:
    """n random indices per class (fewer when a class is small), class by class."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n] for c in range(k)]).astype(np.int64)


def data_sections(cfg, run, d: FaceData, weights: torch.Tensor) -> list[Section]:
    k, classes = len(d.classes), d.classes
    ytr = d.y["train"].numpy()
    n, c, h, w = d.x["train"].shape
    s = Section("Data, preprocessing and augmentation")
    s.text(f"Image folders under `{display_path(d.root)}`: splits {', '.join(d.x)}; {k} classes ({', '.join(map(str, classes))}), "
           f"taken from the folder names. Images are decoded as {'greyscale' if c == 1 else f'{c}-channel colour'} "
           f"and {'resized to' if cfg.image_size else 'kept at'} {h}x{w} pixels, then scaled from 0-255 to [0, 1] "
           f"(float32). {d.skipped} unreadable file(s) were skipped."
           + (f" Training uses {n:,} of the {d.full_train:,} training images (at most {cfg.train_per_class} per class)."
              if cfg.train_per_class else ""))
    s.table(*split_table({sp: yy.numpy() for sp, yy in d.y.items()}, classes), "Images per class in each split.")
    pick = per_class_picks(ytr, k, 3, cfg.seed)
    # one class per row (three images), whatever the number of classes
    grid = figs.image_grid(d.images["train"][pick], [str(classes[i]) for i in ytr[pick]], ncols=3, cmap="gray" if c == 1 else None)
    s.figure(run.save_figure(grid, "samples"), "Three training images per class, as loaded (pixels in [0, 1]).", width=0.8, base=run.path)

    counts = np.bincount(ytr, minlength=k)
    bal = Section("Class balance and how it is handled", level=2)
    bal.text(balance_text(counts, classes, cfg.class_weights))
    bal.figure(run.save_figure(figs.bar(classes, counts, "training images per class", "images", fmt="{:.0f}"), "class_balance"),
               "Training images per class.", width=0.7, base=run.path)
    bal.table(["class", "training images", "share", "loss weight w_c"],
              [[str(classes[i]), int(counts[i]), counts[i] / n, float(weights[i])] for i in range(k)],
              "Class balance and the loss weights computed from it.")

    aug = Section("Augmentation", level=2)
    aug.text(f"Why: {n:,} training images for {k} classes is little for a CNN with millions of parameters; it "
             f"would memorise them (train accuracy far above validation). Expressions must be recognised whatever the "
             f"head tilt, framing and lighting, so we show the network such variation: {cfg.augment.describe()}. "
             f"The augmentation is applied on the fly to every training batch (a new random version of each image "
             f"every epoch, from a seeded generator), not as an offline expansion: the data set stays at {n:,} "
             f"images; the table of image counts below gives, per class, the images before augmentation and the "
             f"augmented images each training run saw. Validation and test images are never augmented.")
    pick3 = per_class_picks(ytr, k, 3, cfg.seed + 1)
    xa = cfg.augment(d.x["train"][pick3], torch.Generator().manual_seed(cfg.seed))
    both = torch.stack([d.x["train"][pick3], xa], 1).flatten(0, 1)  # original, augmented, original, ...
    titles = [f"{classes[int(ytr[i])]}" + (" (aug)" if j else "") for i in pick3 for j in (0, 1)]
    grid = figs.image_grid(both.permute(0, 2, 3, 1).numpy(), titles, ncols=6, cmap="gray" if c == 1 else None)  # a class per row
    aug.figure(run.save_figure(grid, "augmented"), "Three training images per class, each followed by one random "
               "augmented version (as the network sees it in one epoch).", width=0.8, base=run.path)
    return [s, bal, aug]


def balance_text(counts: np.ndarray, classes, class_weights: bool) -> str:
    """The class-balance paragraph, with the branch the counts call for (balanced, mildly or strongly imbalanced)."""
    n, k = int(counts.sum()), len(counts)
    imb = counts.max() / max(1, counts.min())
    head = (f"The largest training class has {counts.max():,} images and the smallest "
            f"({classes[int(counts.argmin())]}) {counts.min():,}: an imbalance ratio of {imb:.2f}. ")
    if imb < 1.05:
        why = (f"The classes are balanced, so a plain cross-entropy already gives each class the same total weight; the "
               f"class weights w_c = N / (K · n_c) (N = {n:,} images, K = {k} classes) are all close to 1.")
    else:
        why = ((f"{'Mildly' if imb < 1.5 else 'Strongly'} imbalanced: a plain cross-entropy would let the larger classes "
                f"dominate the gradient, so the loss weighs class c by w_c = N / (K · n_c) (N = {n:,} images, K = {k} classes): "
                "each class then contributes the same total weight."))
    return head + why + (" The weights are used in every training run below." if class_weights else
                         " (class_weights=false: the weights are shown but not used.)")
