"""cnn-cifar10's data: the training split cut into train/validation, and a test split whenever one exists.

A test split is looked for in this order: `test_dir` (a folder of class folders, or a folder holding the official
test_batch / cifar-10-python.tar.gz), then the `test` split beside the training data (test/<class>/ folders or the
official files). Not finding one is normal (the course's shared copy has only the training split); finding one that
cannot be loaded is an error, and so is a test split whose classes the training split does not have. Class folders
are matched by name, so a test/ without `airplane` keeps `automobile` as class 1.
"""
from __future__ import annotations

from pathlib import Path

import torch

from tamrin.data import load_cifar10, stratified_split, to_tensor
from tamrin.data.augment import normalize
from tamrin.data.folder import align_classes, load_image_folder
from tamrin.data.paths import display_path
from tamrin.errors import SplitNotFound, UserError


def load_data(cfg, run):
    """(training ArrayDataset, (x, y) train, (x, y) validation, (x, y) test or None, test ArrayDataset or None)."""
    ds = load_cifar10(cfg.data_dir, "train", run=run)
    if cfg.subset and cfg.subset < len(ds.labels):
        keep, _ = stratified_split(ds.labels, 1 - cfg.subset / len(ds.labels), cfg.seed)
        ds = ds.subset(keep)
    tr, va = stratified_split(ds.labels, cfg.val_fraction, cfg.seed)
    x, y = to_tensor(ds)
    if x.shape[1] != 3:
        raise UserError(f"expected RGB images, got {x.shape[1]} channel(s) from {ds.source}")
    x = normalize(x)  # the published CIFAR-10 training-set statistics (see tamrin.data.augment)
    tds = load_test(cfg, ds.classes, run)
    test = None
    if tds is not None:
        test = (normalize(to_tensor(tds)[0]), torch.as_tensor(tds.labels))
        run.info(f"cnn-cifar10: test split of {len(tds.labels)} images from {tds.source}")
    return ds, (x[tr], y[tr]), (x[va], y[va]), test, tds


def load_test(cfg, classes: list[str], run):
    """The test split relabelled to the training classes, or None when there is none."""
    if cfg.test_dir:
        p = Path(cfg.test_dir).expanduser()
        if not p.is_dir():
            raise UserError(f"test_dir {p} does not exist")
        if any(c.is_dir() for c in p.iterdir()) and not (p / "cifar-10-batches-py").is_dir() and not (p / "test").is_dir():
            tds = load_image_folder(p.parent, p.name, size=(32, 32), mode="RGB", run=run)
            tds.source = f"image folder {display_path(p)}"
        else:
            tds = load_cifar10(p, "test", run=run, fallback=False)
    else:
        try:
            tds = load_cifar10(cfg.data_dir, "test", run=run, fallback=False)
        except SplitNotFound:
            return None
    if tds.images.shape[1:3] != (32, 32) or tds.images.shape[3] != 3:
        raise UserError(f"the test split from {tds.source} has images of shape {tds.images.shape[1:]}, not 32x32 RGB")
    return align_classes(tds, classes, f"the test split ({tds.source})", run)
