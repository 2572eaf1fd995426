"""fer: facial expression recognition on any image-folder data set with train/ and validation/ (optional test/).

(a) data, class balance and weights, face augmentation (_fer_data); (b) VGG16 transfer learning with a
cached-feature head and fine-tuning (_fer_transfer); (c) the compact VGG of Hewitt & Gunes and its GAP
variant; (d) curves, ROC, confusion matrices, per-class metrics, CAM / Grad-CAM, and an improvement
proposed from the maps and confusions, then measured (_fer_eval). Default data: the shared FER2013 subset.
"""
from __future__ import annotations

import json
from types import SimpleNamespace
from dataclasses import dataclass, field

import numpy as np
import torch

from tamrin.errors import UserError
from tamrin.experiments._fer_data import class_weights, data_sections, load_face_data, per_class_picks
from tamrin.experiments._fer_eval import (comparison_section, flip_tta_probs, improvement_section, measure,
                                          softmax_probs, top_confusions)
from tamrin.experiments._fer_transfer import freeze_report, train_transfer, transfer_probs
from tamrin.face_augment import FaceAugment
from tamrin.models import create
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.report.standard import architecture_section, evaluate_classification, training_section
from tamrin.train import TrainConfig, fit

ANCHORS = ("Reference points (not measured here): Hewitt & Gunes' VGG-style network reaches 58% accuracy, 0.58 macro-F1 "
           "and ROC AUC 0.90 on AffectNet's 8-class validation set; on FER2013 human accuracy is about 65%, and the best "
           "single VGG-style networks reach about 73% when trained on all 28,709 training images.")


def _adam(epochs: int, lr: float = 1e-3, bs: int = 64, **kw) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=bs, optimizer="adam", lr=lr, weight_decay=1e-4, schedule="cosine", **kw)


@dataclass
class TransferConfig:
    enabled: bool = True
    size: int = 64              # VGG16 input side (upsampled from the images); small on a CPU
    width: float = 1.0          # < 1: a width-reduced VGG16 (quick runs only; cannot load ImageNet weights)
    pretrained: str = ""        # "" = pretrain on CIFAR-10 here; "imagenet" or a path/URL of vgg16-397923af.pth
    cifar_images: int = 10000
    pretrain: TrainConfig = field(default_factory=lambda: _adam(4, 1e-4, 64))
    head_hidden: int = 256
    head: TrainConfig = field(default_factory=lambda: _adam(40, 1e-3, 128))
    finetune_from: int = 24     # unfreeze features.<this index> and later (24 = the last conv block)
    finetune: TrainConfig = field(default_factory=lambda: _adam(3, 1e-4, 64))


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""          # a folder with train/ and validation/ class folders ("" = the shared FER2013 subset)
    image_size: int = 48        # side of the compact VGGs' input (the paper: 128); 0 = keep the files' size
    color_mode: str = "auto"    # "L", "RGB" or "auto" (from the files)
    train_per_class: int = 0    # at most this many training images per class (0 = all)
    val_per_class: int = 0      # at most this many validation/test images per class (0 = all)
    class_weights: bool = True
    augment: FaceAugment = field(default_factory=FaceAugment)
    compact_width: float = 1.0
    dropout_conv: float = 0.2   # Gaussian dropout after each pool (the paper's code)
    dropout_fc: float = 0.5     # dropout after the dense layers (the paper's code)
    compact: TrainConfig = field(default_factory=lambda: _adam(30))
    gap: TrainConfig = field(default_factory=lambda: _adam(30))
    transfer: TransferConfig = field(default_factory=TransferConfig)
    explain_per_class: int = 0  # validation images per class explained with CAM/Grad-CAM (0 = all)
    improvement: str = "flip-tta"  # flip-tta | none

    @classmethod
    def quick(cls) -> "Config":
        # a few minutes on 2 idle cores: 100 training / 30 validation images per class, 2 epochs, a width-reduced VGG16
        # without dropout: two short epochs are too few for the paper's regularisation to let anything be learnt
        q = lambda e, lr=1e-3, bs=64: _adam(e, lr, bs, threads=1)  # noqa: E731  (1 thread: the machine is shared)
        return cls(train_per_class=100, val_per_class=30, compact=q(2), gap=q(2), explain_per_class=10,
                   dropout_conv=0.0, dropout_fc=0.0,
                   transfer=TransferConfig(size=48, width=0.25, cifar_images=1000, pretrain=q(1, 5e-4),
                                           head=q(10, 1e-3, 128), finetune=q(1, 1e-4)))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        q = lambda e, lr=1e-3, bs=32: _adam(e, lr, bs, threads=1, max_steps_per_epoch=3, progress=False)  # noqa: E731
        return cls(train_per_class=12, val_per_class=6, image_size=24, compact=q(2), gap=q(2), explain_per_class=2,
                   dropout_conv=0.0, dropout_fc=0.0,
                   transfer=TransferConfig(size=32, width=0.125, cifar_images=200, pretrain=q(1, 5e-4),
                                           head=q(2, 1e-3, 64), finetune=q(1, 1e-4)))

    def validate(self):
        if self.color_mode not in ("auto", "L", "RGB"):
            raise UserError(f"color_mode must be auto, L or RGB, got {self.color_mode!r}")
        if self.image_size < 0 or self.transfer.size < 8:
            raise UserError("image_size must be >= 0 (0 = as stored) and transfer.size >= 8")
        if self.improvement not in ("flip-tta", "none"):
            raise UserError(f"improvement must be flip-tta or none, got {self.improvement!r}")
        if self.transfer.pretrained and self.transfer.width != 1.0:
            raise UserError("transfer.pretrained (ImageNet VGG16 weights) needs transfer.width=1 (the file has the full widths)")
        if not (self.compact_width > 0 and self.transfer.width > 0):
            raise UserError("compact_width and transfer.width must be positive")
        self.augment.validate()


def _model_sections(run, tag, title, d, probs, history, level=2):
    out, metrics = [], {}
    for split in d.y:
        m, secs = evaluate_classification(run, f"{tag}_{split}", d.y[split].numpy(), probs[split], d.classes,
                                          history=history if split == "validation" else None,
                                          title=f"{title}: {split}", level=level, roc_curve=True)
        metrics[split] = m
        out += secs
    return metrics, out


def run(cfg: Config, run) -> list[Section]:
    torch.manual_seed(cfg.seed)
    d = load_face_data(cfg, run)
    k, (n, c, h, w) = len(d.classes), d.x["train"].shape
    if k < 2:
        raise UserError(f"{d.root}/train has {k} class folder(s); a classifier needs at least 2")
    wts = class_weights(d.y["train"], k)
    cw = wts if cfg.class_weights else None
    trainval = ((d.x["train"], d.y["train"]), (d.x["validation"], d.y["validation"]))
    models, results, sections = {}, {}, []

    for tag, name, tcfg in (("hg_vgg", "Compact VGG (Hewitt & Gunes)", cfg.compact), ("hg_vgg_gap", "Compact VGG, GAP head", cfg.gap)):
        torch.manual_seed(cfg.seed)
        model = create(tag, num_classes=k, width_mult=cfg.compact_width, input_size=h, in_chans=c,
                       drop_conv=cfg.dropout_conv, drop_fc=cfg.dropout_fc)
        res = fit(model, *trainval, tcfg, run, tag=tag, augment=cfg.augment, class_weights=cw, seed=cfg.seed,
                  checkpoint_meta={"classes": list(d.classes), "input_size": [h, w]})  # for `tamrin explain RUN_DIR`
        probs = {s: softmax_probs(model, x) for s, x in d.x.items()}
        models[tag] = (model, res, probs, name)

    tr = train_transfer(cfg, run, d, cw, cfg.augment) if cfg.transfer.enabled else None
    if tr is not None:
        probs = {s: transfer_probs(tr, x) for s, x in d.x.items()}
        hist = tr["head"].history + (tr["finetune"].history if tr["finetune"] else [])
        hist = [dict(r, epoch=i + 1) for i, r in enumerate(hist)]
        name = "VGG16 transfer" + (f" (width-reduced ×{cfg.transfer.width:g})" if cfg.transfer.width != 1 else "")
        secs = tr["head"].seconds + (tr["finetune"].seconds if tr["finetune"] else 0)

        # the head + fine-tuning histories as one result for the report
        models["vgg16"] = (tr["model"], SimpleNamespace(history=hist, seconds=secs + tr["feature_seconds"]), probs, name)

    epochs_seen = sum(len(r.history) for t, (_, r, _, _) in models.items() if t != "vgg16")
    if tr and tr["finetune"]:
        epochs_seen += len(tr["finetune"].history)
    sections += data_sections(cfg, run, d, wts, epochs_seen * n)

    rows = []
    for tag, (model, res, probs, name) in models.items():
        sec = Section(name)
        example = d.x["validation"][:1] if tag != "vgg16" else tr["prep"](d.x["validation"][:1])
        if tag == "vgg16":
            frozen, tuned = freeze_report(model, cfg.transfer.finetune_from)
            sec.text(f"Backbone: {tr['pretrain']['source']}. A new head for the {k} classes (global average pooling → "
                     f"{tr['feature_dim']} features → {cfg.transfer.head_hidden or 'no'} hidden units → {k}; "
                     f"{tr['head_params']:,} parameters) was trained on features computed once with the frozen backbone and "
                     f"cached ({tr['feature_seconds']:.1f} s for all training and validation images), in {tr['head'].seconds:.1f} s "
                     f"for {len(tr['head'].history)} epochs, reaching {tr['head_val_acc']:.1%} validation accuracy. "
                     + (f"Fine-tuning then unfroze features.{cfg.transfer.finetune_from} onwards ({tuned:,} trainable parameters, "
                        f"{frozen:,} kept frozen) for {len(tr['finetune'].history)} epoch(s) on augmented {example.shape[-1]} px "
                        f"images, {tr['finetune'].seconds:.1f} s, best validation accuracy {tr['finetune'].best_val_acc:.1%}."
                        if tr["finetune"] else "No fine-tuning stage was run.")
                     + " The curves show head epochs first, then fine-tuning epochs.")
        else:
            sec.text(f"Trained from scratch on {h}x{w}x{c} inputs for {len(res.history)} epochs ({res.seconds:.1f} s); "
                     f"the weights of the best validation epoch ({res.best_epoch}) are kept.")
        sec_list = [sec, architecture_section(model, example, level=2, name=tag)]
        if tag == "hg_vgg":
            sec_list += training_section(
                "Training set-up", level=2, loss_fn=torch.nn.CrossEntropyLoss(weight=cw), optimizer=cfg.compact.optimizer,
                optimizer_params={"lr": cfg.compact.lr, "weight_decay": cfg.compact.weight_decay},
                scheduler=f"{cfg.compact.schedule} (per step)", epochs=cfg.compact.epochs, batch_size=cfg.compact.batch_size,
                splits={s: len(y) for s, y in d.y.items()}, preprocessing="pixels scaled to [0, 1]",
                augmentation=cfg.augment.describe())
        metrics, evs = _model_sections(run, tag, name, d, probs, res.history)
        sections += sec_list + evs
        mm = measure(model, example)
        v = metrics["validation"]
        rows.append({"tag": tag, "name": name, **mm, "seconds": res.seconds, "acc": v["accuracy"], "macro_f1": v["macro_f1"],
                     "kappa": v["kappa"], "auc": v["auc_macro"], **({"test_acc": metrics["test"]["accuracy"]} if "test" in metrics else {})})
        results[tag] = metrics
    yv = d.y["validation"]
    majority = float(torch.bincount(yv, minlength=k).max()) / max(1, len(yv))
    sections.insert(0, comparison_section(rows, ANCHORS, majority))

    sections += _explain(cfg, run, d, models)
    best = max(rows, key=lambda r: r["acc"])
    improvement = None
    if cfg.improvement == "flip-tta":
        sec, improvement = _improve(run, d, models[best["tag"]], best, results[best["tag"]], tr)
        sections.append(sec)
    run.write_json("results.json", {"models": rows, "classes": d.classes, "train_images": n, "improvement": improvement})
    return sections


def _explain(cfg, run, d, models) -> list[Section]:
    from tamrin.explain import explain_sections

    y = d.y["validation"].numpy()
    idx = per_class_picks(y, len(d.classes), cfg.explain_per_class or len(y), cfg.seed + 2)
    x, yy = d.x["validation"][idx], y[idx]
    out = explain_sections(run, models["hg_vgg_gap"][0], x, yy, d.classes, method="cam")
    out += explain_sections(run, models["hg_vgg"][0], x, yy, d.classes, method="gradcam")
    out[0].title += " (compact VGG, GAP head)"
    out[-1].title += " (compact VGG, the paper's flatten head)"
    return out


def _improve(run, d, entry, row, metrics, tr):
    model, _, probs, name = entry
    y = d.y["validation"].numpy()
    conf = top_confusions(metrics["validation"]["confusion"], d.classes)
    st = json.loads((run.path / "explain_gradcam_stats.json").read_text())
    c, wr = st["correct"], st["wrong"]
    diff = c["mass_mean"] - wr["mass_mean"]
    half = 1.96 * float(np.sqrt(np.nansum([c["mass_se"] ** 2, wr["mass_se"] ** 2])))
    pairs = "; ".join(f"{a} taken for {b} {cnt} times ({share:.0%} of {a})" for a, b, cnt, share in conf)
    if not (c["n"] and wr["n"]):
        where = "so there are no correct or no wrong predictions to compare."
    elif diff - half > 0:
        where = ("so wrong predictions draw measurably more of their evidence from off-centre parts of the image "
                 "(hair, a hand, the border), which differ between an image and its mirror.")
    elif diff + half < 0:
        where = "so wrong predictions are not explained by looking off-centre; they misread the face itself."
    else:
        where = (f"a difference of {100 * diff:+.1f} points that is within its 95% interval (±{100 * half:.1f}), so where "
                 "the map sits does not separate errors from correct predictions here.")
    why = (f"What the analysis shows: the most frequent confusions of {name} (the best model on validation) are {pairs}. "
           f"Grad-CAM of the compact VGG puts {c['mass_mean']:.1%} of its mass in the central face box for correct predictions "
           f"and {wr['mass_mean']:.1%} for wrong ones, {where}"
           " Proposal: expressions are (nearly) left-right symmetric, so the evidence a prediction should rely on is present "
           "in both an image and its mirror, while one-sided clutter is not. Averaging the class probabilities of each "
           "image and its left-right mirror (test-time flip augmentation) keeps the evidence both views agree on; it costs one "
           "extra forward pass and no retraining.")
    x = tr["prep"](d.x["validation"]) if row["tag"] == "vgg16" else d.x["validation"]
    sec, res = improvement_section(name, y, probs["validation"], flip_tta_probs(model, x), d.classes,
                                   why, "flip test-time augmentation")
    return sec, {"model": row["tag"], "acc_before": res["before"]["accuracy"], "acc_after": res["after"]["accuracy"],
                            "macro_f1_before": res["before"]["macro_f1"], "macro_f1_after": res["after"]["macro_f1"]}


EXPERIMENT = Experiment(
    name="fer",
    description="Facial expressions on image folders: face augmentation, VGG16 transfer, compact VGG, ROC, CAM",
    exercise="Facial expression recognition (AffectNet/FER2013): augmentation, transfer learning, mobile VGG, CAM",
    config=Config, run=run, order=70,
)
