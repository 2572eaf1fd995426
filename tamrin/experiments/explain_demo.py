"""explain-demo: CAM, Grad-CAM, Grad-CAM++, guided backpropagation and guided Grad-CAM side by side on
a task where we know where the class evidence is, so each method can be *scored*, not just looked at.

A small GAP CNN learns to tell three stripe textures apart; each image also holds a bright square
that is the same for every class. A faithful class map covers the texture patch and not the square.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.train import TrainConfig


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # unused: the data are generated
    n_train: int = 1500
    n_val: int = 400
    noise: float = 0.15  # pixel noise of training and validation images
    hard_noise: float = 0.45  # a harder validation set, so that there are wrong predictions to study
    width: int = 16
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=4, batch_size=64, optimizer="adam", lr=5e-3, weight_decay=0.0, schedule="cosine"))
    threshold: float = 0.5  # IoU of {map >= threshold * max} with the evidence patch
    show: int = 6  # images in the side-by-side figure

    @classmethod
    def quick(cls) -> "Config":
        return cls(n_train=800, n_val=200, width=8, train=TrainConfig(
            epochs=3, batch_size=64, optimizer="adam", lr=1e-2, weight_decay=0.0, schedule="cosine"))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(n_train=192, n_val=24, width=4, show=3, train=TrainConfig(
            epochs=3, batch_size=64, optimizer="adam", lr=1e-2, weight_decay=0.0, schedule="cosine", progress=False))

    def validate(self):
        from tamrin.errors import UserError

        if self.n_train < 30 or self.n_val < 6:
            raise UserError("n_train must be >= 30 and n_val >= 6")
        if not 0 < self.threshold < 1:
            raise UserError("threshold must be between 0 and 1")
        self.train.validate()


METHODS = [("cam", "CAM"), ("gradcam", "Grad-CAM"), ("gradcam++", "Grad-CAM++"), ("guided", "guided backprop"),
           ("guided-gradcam", "guided Grad-CAM")]


def _model(cfg: Config, run):
    """Trained through tamrin.train.fit: checkpointed every epoch into checkpoints/tiny_gap_cnn.pt with the
    model_spec that `tamrin explain RUN_DIR` needs; a resumed run continues or reuses that checkpoint."""
    from tamrin.explain.synthetic import CLASSES, TinyGapCNN, make_localized
    from tamrin.train import fit

    torch.manual_seed(cfg.seed)
    model = TinyGapCNN(1, len(CLASSES), cfg.width)
    x, y, _ = make_localized(cfg.n_train, seed=cfg.seed, noise=cfg.noise)
    xv, yv, _ = make_localized(cfg.n_val, seed=cfg.seed + 1, noise=cfg.noise)
    res = fit(model, (x, y), (xv, yv), cfg.train, run, tag="tiny_gap_cnn", seed=cfg.seed)
    return res.model.eval(), res.seconds, res, (x, y), (xv, yv)


def run(cfg: Config, run) -> list[Section]:
    from tamrin.explain import explain, grid_figure, normalize
    from tamrin.explain.report import explain_sections
    from tamrin.explain.stats import mass_in_region, threshold_iou
    from tamrin.explain.synthetic import CLASSES, accuracy, make_localized

    cfg.validate()
    model, train_s, fitted, fit_train, fit_val = _model(cfg, run)
    xv, yv, mv, dv = make_localized(cfg.n_val, seed=cfg.seed + 1, noise=cfg.noise, with_distractor=True)
    acc = accuracy(model, xv, yv)

    rows, results = [], {}
    run.truncate_metrics(lambda r: "method" not in r)  # a resumed run logs the method scores afresh
    for method, label in METHODS:
        t0 = time.time()
        e = explain(model, xv, method)
        ms = 1000 * (time.time() - t0) / len(xv)
        iou = threshold_iou(e.maps, mv, cfg.threshold)
        mass, dmass = mass_in_region(e.maps, mv), mass_in_region(e.maps, dv)
        results[method] = e
        rows.append([label, float(np.mean(iou)), float(np.mean(iou >= 0.5)), float(np.nanmean(mass)), float(np.nanmean(dmass)), ms])
        run.log(method=method, iou=rows[-1][1], mass_in_patch=rows[-1][3], mass_on_distractor=rows[-1][4], ms_per_image=ms)
    area = float(mv.mean())
    identity = float(np.abs(normalize(results["cam"].maps) - normalize(results["gradcam"].maps)).max())
    best = max(rows, key=lambda r: r[1])
    by = {r[0]: r for r in rows}

    sec = Section("Five explanation methods on a task with known evidence")
    sec.text(f"A GAP CNN (width {cfg.width}) was trained on {cfg.n_train:,} synthetic 32x32 images "
             + f"in {train_s:.1f} s and classifies {acc:.1%} of the {cfg.n_val:,} validation images correctly. Each image holds a 10x10 "
             f"texture patch (the class evidence, {area:.1%} of the image) and a bright 8x8 square shared by all classes. "
             "All maps explain the predicted class.")
    sec.text(f"Thresholded at {cfg.threshold:.0%} of its maximum, the map of **{best[0]}** overlaps the patch best, with a mean "
             f"IoU of {best[1]:.2f} (Grad-CAM: {by['Grad-CAM'][1]:.2f}). Grad-CAM puts {by['Grad-CAM'][3]:.1%} of its mass on the patch and "
             f"{by['Grad-CAM'][4]:.1%} on the distractor square (uniform spreading: {area:.1%} on the patch). CAM and Grad-CAM "
             f"agree to within {identity:.1e} after normalisation, as the Grad-CAM paper proves for a global-average-pooling + "
             f"linear head.")
    gb, ggc = by["guided backprop"], by["guided Grad-CAM"]
    low_iou = gb[1] < best[1] - 0.1
    sec.text(f"Guided backpropagation puts {gb[3]:.1%} of its mass on the patch and {gb[4]:.1%} on the square, "
             + (f"yet its mean IoU is only {gb[1]:.2f}: its map is pixel detail (the stripes themselves), which thresholding at "
                f"{cfg.threshold:.0%} of the maximum turns into scattered pixels rather than the filled box." if low_iou
                else f"with a mean IoU of {gb[1]:.2f}.")
             + f" Multiplying it by Grad-CAM (guided Grad-CAM) "
             f"{'raises' if ggc[3] > gb[3] else 'lowers'} the mass on the patch to {ggc[3]:.1%} and "
             f"{'lowers' if ggc[4] < gb[4] else 'raises'} the mass on the square to {ggc[4]:.1%}: the product keeps the detail "
             "only where the class map is.")
    sec.table(["method", "mean IoU", "images with IoU >= 0.5", "mass on patch", "mass on distractor", "ms / image"], rows,
              f"Scores over the {cfg.n_val:,} validation images (IoU of the map thresholded at {cfg.threshold:.0%} of its maximum).")
    k = min(cfg.show, len(xv))
    idx = np.concatenate([np.flatnonzero(yv.numpy() == c)[: max(1, k // len(CLASSES))] for c in range(len(CLASSES))])[:k]
    panels = [(label, results[m].gradients[idx] if results[m].gradients is not None else results[m].maps[idx]) for m, label in METHODS]
    titles = [f"{CLASSES[int(yv[i])]} (pred {CLASSES[int(results['gradcam'].predicted[i])]})" for i in idx]
    path = run.save_figure(grid_figure(xv[idx], panels, titles), "methods_side_by_side")
    sec.figure(path, "Inputs (top) and each method's map of the predicted class; guided methods show signed gradients "
               "(grey = 0). The evidence patch is the striped square, the distractor the uniform bright one.", base=run.path)

    xh, yh, mh = make_localized(cfg.n_val, seed=cfg.seed + 2, noise=cfg.hard_noise)
    hard = Section(f"Correct vs wrong predictions on a harder validation set (noise {cfg.hard_noise})", level=2)
    hard.text(f"With pixel noise {cfg.hard_noise} instead of {cfg.noise} the model classifies {accuracy(model, xh, yh):.1%} of "
              f"{cfg.n_val:,} images correctly; the report section used by the FER and CIFAR experiments then compares where "
              "the map sits for correct and wrong predictions.")
    return [sec, hard] + explain_sections(run, model, xh, yh.numpy(), CLASSES, region_mask=mh, region_name="evidence patch") \
        + _standard(cfg, run, model, fitted, fit_train, fit_val, (xh, yh))


def _standard(cfg, run, model, fitted, train, val, hard) -> list[Section]:
    """The course's standard training report of the explained CNN: train and validation are the sets fit used
    (without the distractor square); the harder set is its test split (never used for training or selection)."""
    from tamrin.explain.synthetic import CLASSES
    from tamrin.report.training_report import fit_steps, train_config_settings, training_report
    from tamrin.train import predict

    settings = train_config_settings(
        cfg.train, loss="cross-entropy (mean over the batch)", steps=fit_steps(len(train[1]), cfg.train, len(fitted.history), history=fitted.history),
        epochs=len(fitted.history), augmentation="none",
        preprocessing=f"generated 32x32 images, background 0.3 + Gaussian pixel noise σ = {cfg.noise:g} (test: σ = {cfg.hard_noise:g}); "
                      "no further scaling")
    splits = {name: (yy, predict(model, xx).argmax(1)) for name, (xx, yy) in
              (("train", train), ("validation", val), (f"test (harder, noise {cfg.hard_noise:g})", hard))}
    return training_report(run, "tiny_gap_cnn", history=fitted.history, best_epoch=fitted.best_epoch, splits=splits,
                           classes=list(CLASSES), settings=settings, model=model, example_input=val[0][:2],
                           title="Standard report: the explained CNN")


EXPERIMENT = Experiment(name="explain-demo", description="CAM, Grad-CAM, Grad-CAM++, guided backprop and guided Grad-CAM scored on known evidence",
                        exercise="Explainability: class activation maps and gradient-based saliency", config=Config, run=run,
                        order=60, trains=True)
