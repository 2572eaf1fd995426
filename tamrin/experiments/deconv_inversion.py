"""deconv-inversion (p4.q2): how deconvolution-style saliency and feature inversion make a CNN interpretable.

A small VGG-style CNN is trained on CIFAR-10 (tamrin.train.fit: checkpointed, resumable). Then
1. plain gradients, Zeiler & Fergus's deconvnet and Springenberg et al.'s guided backpropagation (the
   same backward pass, differing only at the ReLUs) are compared by how class-specific their maps are
   and by deletion curves (accuracy as the most salient pixels are removed, vs random removal);
2. an up-convolutional decoder per depth (Dosovitskiy & Brox) is trained, also through fit, to rebuild
   held-out images from that layer's features, logits included, and Mahendran & Vedaldi's
   optimisation-based inversion with a total-variation prior is run at one layer for comparison.
Images never seen by the CNN or the decoders are used for every measurement.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from tamrin.data.augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalize
from tamrin.data import load_cifar10, stratified_split, to_tensor
from tamrin.errors import UserError
from tamrin.experiments import _deconv_measure as M
from tamrin.explain.inversion import LOGITS, OptimConfig
from tamrin.labs.threads import one_thread
from tamrin.models import create, list_models
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.train import TrainConfig, fit, predict


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    model: str = "hg_vgg_gap"  # 5 stages of 2 convs (16..128 channels); a pooled map after each stage
    width: float = 1.0
    subset: int = 17000  # CIFAR-10 training images used (stratified; 0 = all 50,000)
    test_images: int = 2000  # held out from all training: saliency and reconstruction are measured on them
    val_fraction: float = 0.1  # of the rest: the CNN's model selection
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=8, batch_size=128, optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=0.5, threads=1, progress=False))
    # depths to invert: the pooled output of stages 1, 2, 3, the last conv block (2x2) and the class scores
    layers: tuple[str, ...] = ("features.2", "features.6", "features.10", "features.17", LOGITS)
    decoder_images: int = 8000  # training images per decoder (from the CNN's training part)
    decoder_width: float = 1.0
    decoder_convs: int = 2  # 3x3 convolutions on the feature map before the first upconvolution
    decoder_train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=6, batch_size=64, optimizer="adam", lr=2e-3, weight_decay=0.0, schedule="cosine", threads=1, progress=False))
    saliency_images: int = 500
    fractions: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
    deletion_patch: int = 4  # the second deletion curve removes patch x patch squares (the first: single pixels)
    show: int = 8  # images in each figure
    optim_layer: str = "features.10"
    optim_images: int = 6
    optim: OptimConfig = field(default_factory=OptimConfig)

    @classmethod
    def quick(cls) -> "Config":
        return cls(subset=3000, test_images=400, layers=("features.2", "features.10", "features.17", LOGITS),
                   train=TrainConfig(epochs=2, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=5e-4, schedule="cosine", threads=1, progress=False),
                   decoder_images=2000, decoder_train=TrainConfig(epochs=2, batch_size=64, optimizer="adam", lr=2e-3,
                                                                  weight_decay=0.0, schedule="cosine", threads=1, progress=False),
                   saliency_images=200, show=6, optim_images=4, optim=OptimConfig(steps=100))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(subset=400, test_images=64, width=0.25, layers=("features.6", LOGITS), optim_layer="features.6",
                   train=TrainConfig(epochs=2, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
                                     schedule="cosine", threads=1, progress=False, max_steps_per_epoch=3),
                   decoder_images=128, decoder_width=0.25, decoder_train=TrainConfig(
                       epochs=2, batch_size=32, optimizer="adam", lr=2e-3, weight_decay=0.0, schedule="cosine", threads=1,
                       progress=False, max_steps_per_epoch=3),
                   saliency_images=32, fractions=(0.0, 0.1, 0.3), show=3, optim_images=2, optim=OptimConfig(steps=5))

    def validate(self):
        if self.model not in list_models():
            raise UserError(f"unknown model {self.model!r}; choose from: {', '.join(list_models())}")
        if self.subset < 0 or 0 < self.subset < 200:
            raise UserError(f"subset must be 0 (all) or at least 200 images, got {self.subset}")
        if self.test_images < 10 or not 0 < self.val_fraction < 0.5:
            raise UserError("test_images must be >= 10 and val_fraction in (0, 0.5)")
        if not self.layers:
            raise UserError("layers must name at least one layer to invert")
        if self.optim_layer not in self.layers:
            raise UserError(f"optim_layer {self.optim_layer!r} must be one of layers ({', '.join(self.layers)}): "
                            "the optimisation is compared with that layer's decoder")
        if len(self.fractions) < 2 or list(self.fractions) != sorted(self.fractions) or not 0 <= self.fractions[0] <= self.fractions[-1] <= 1:
            raise UserError(f"fractions must be at least two increasing values in [0, 1], got {self.fractions}")
        if self.deletion_patch < 1 or 32 % self.deletion_patch:
            raise UserError(f"deletion_patch must divide the 32-pixel image side, got {self.deletion_patch}")
        if self.saliency_images < 2 or self.decoder_images < 2 or self.optim_images < 1 or self.show < 1:
            raise UserError("saliency_images and decoder_images must be >= 2, optim_images and show >= 1")
        self.train.validate()
        self.decoder_train.validate()
        self.optim.validate()


def load_data(cfg: Config, run):
    """(dataset, pixels [0,1] and labels for train / val / test). The shared copy has no test split, so
    the held-out test part is carved out of the training split (stratified, fixed seed)."""
    ds = load_cifar10(cfg.data_dir, "train", run=run)
    if cfg.subset and cfg.subset < len(ds.labels):
        keep, _ = stratified_split(ds.labels, 1 - cfg.subset / len(ds.labels), cfg.seed)
        ds = ds.subset(np.sort(keep))
    if cfg.test_images >= len(ds.labels) // 2:
        raise UserError(f"test_images={cfg.test_images} leaves too few of the {len(ds.labels)} images for training")
    rest, test = stratified_split(ds.labels, cfg.test_images / len(ds.labels), cfg.seed)
    tr, va = stratified_split(ds.labels[rest], cfg.val_fraction, cfg.seed + 1)
    # a seeded shuffle: the image folders come class by class, and later code takes the first k images
    rng = np.random.default_rng(cfg.seed)
    tr, va, test = rng.permutation(rest[tr]), rng.permutation(rest[va]), rng.permutation(test)
    pix, y = to_tensor(ds)
    if pix.shape[1] != 3:
        raise UserError(f"expected RGB images, got {pix.shape[1]} channel(s) from {ds.source}")
    return ds, {k: (pix[i], y[i]) for k, i in (("train", tr), ("val", va), ("test", test))}


def _to_input(p):
    return normalize(p)


def _from_input(x):
    mean, std = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return x * std + mean


@one_thread()  # small models on a shared 2-core CPU: one thread (benchmarks/labs.md)
def run(cfg: Config, run) -> list[Section]:
    from tamrin.experiments._deconv_report import report

    cfg.validate()
    t_start = time.perf_counter()
    ds, parts = load_data(cfg, run)
    (p_tr, y_tr), (p_va, y_va), (p_te, y_te) = parts["train"], parts["val"], parts["test"]
    x_tr, x_va, x_te = normalize(p_tr), normalize(p_va), normalize(p_te)
    run.info(f"deconv-inversion: {len(y_tr)} train / {len(y_va)} validation / {len(y_te)} held-out test images from {ds.source}")

    torch.manual_seed(cfg.seed)
    model = create(cfg.model, num_classes=len(ds.classes), width_mult=cfg.width, input_size=32)
    meta = {"classes": list(ds.classes), "input_size": 32, "normalize": {"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)}}
    res = fit(model, (x_tr, y_tr), (x_va, y_va), cfg.train, run, tag="cnn", augment=crop_flip, seed=cfg.seed, checkpoint_meta=meta)
    # from here on the CNN is only read: saliency and the optimisation differentiate with respect to the
    # input alone (torch.autograd.grad), features are computed under no_grad
    model = res.model.cpu().to(memory_format=torch.contiguous_format).eval()
    probs = torch.softmax(predict(model, x_te), 1)

    n_sal = min(cfg.saliency_images, len(y_te))
    sal = M.saliency(model, x_te[:n_sal], y_te[:n_sal], cfg.fractions, cfg.seed, len(ds.classes), cfg.deletion_patch)

    n_dec = min(cfg.decoder_images, len(y_tr))
    rows = []
    for layer in cfg.layers:
        run.info(f"deconv-inversion: decoder for {layer}")
        row = M.train_decoder(cfg, run, model, layer, x_tr[:n_dec], p_tr[:n_dec], x_te, p_te)
        row["label"] = _label(layer, row["shape"])
        rows.append(row)
    baseline = M.mean_image_baseline(p_tr[:n_dec], p_te)
    dec_row = next(r for r in rows if r["layer"] == cfg.optim_layer)
    n_opt = min(cfg.optim_images, len(y_te))
    opt = M.optimisation_vs_decoder(cfg, model, dec_row, x_te[:n_opt], p_te[:n_opt], _to_input, _from_input)
    opt["label"] = dec_row["label"]

    results = {"cnn": {"model": cfg.model, "width": cfg.width, "val_acc": res.best_val_acc, "best_epoch": res.best_epoch,
                       "test_acc": float((probs.argmax(1) == y_te).float().mean()), "train_seconds": res.seconds},
               "splits": {"train": len(y_tr), "val": len(y_va), "test": len(y_te), "decoder_train": n_dec},
               "saliency": M.public(sal), "inversion": [M.public({k: v for k, v in r.items() if k != "history"}) for r in rows],
               "mean_image_baseline": baseline, "optimisation": M.public({k: v for k, v in opt.items() if not k.endswith("_curve")}),
               "threads": torch.get_num_threads(), "wall_seconds": time.perf_counter() - t_start}
    run.write_json("results.json", results)
    run.truncate_metrics(lambda r: "analysis" not in r)  # a resumed run logs these summaries afresh
    for k, v in sal["methods"].items():
        run.log(analysis="saliency", method=k, corr_mean=v["corr_mean"], deletion_area=v["deletion_area"])
    for r in rows:
        run.log(analysis="inversion", layer=r["layer"], mse=r["mse"], psnr=r["psnr"])
    return report(cfg, run, ds, parts, model, res, probs, sal, rows, baseline, opt, results) + \
        _standard(cfg, run, ds, model, res, (x_tr, y_tr), (x_va, y_va), (probs, y_te))


def _standard(cfg, run, ds, model, res, train, val, test) -> list[Section]:
    """The course's standard training report of the CNN that is inverted (the decoders are regressions: not here)."""
    from tamrin.report.training_report import fit_steps, train_config_settings, training_report

    settings = train_config_settings(
        cfg.train, loss="cross-entropy (mean over the batch)", steps=fit_steps(len(train[1]), cfg.train, len(res.history), history=res.history),
        epochs=len(res.history), augmentation="random 32x32 crop of the 4-pixel zero-padded image + horizontal flip (p = 0.5)",
        preprocessing="pixels scaled to [0, 1], then normalised per channel with the CIFAR-10 mean and std",
        extra={"model": f"{cfg.model}, width ×{cfg.width:g}"})
    pred = lambda x: predict(model, x).argmax(1)  # noqa: E731
    splits = {"train": (train[1], pred(train[0])), "validation": (val[1], pred(val[0])), "test": (test[1], test[0])}
    return training_report(run, "cnn", history=res.history, best_epoch=res.best_epoch, splits=splits, classes=list(ds.classes),
                           settings=settings, model=model, example_input=val[0][:2], title="Standard report: the inverted CNN")


def _label(layer: str, shape) -> str:
    return f"{layer} ({'x'.join(str(s) for s in shape)})" if layer != LOGITS else f"the logits ({shape[0]})"


EXPERIMENT = Experiment(
    name="deconv-inversion",
    description="Deconvnet vs guided backprop vs gradients (class specificity, deletion) and CNN feature inversion per depth",
    exercise="p4.q2: interpretability by deconvolution (1412.6806) and by inversion (1506.02753)",
    config=Config, run=run, order=62,
)
