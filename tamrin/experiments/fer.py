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

import torch

from tamrin.errors import UserError
from tamrin.experiments._fer_data import class_weights, data_sections, load_face_data, per_class_picks
from tamrin.experiments._fer_assign import augmentation_counts_section, deviations_section, net_label, reference_networks
from tamrin.experiments._fer_eval import (SPLIT_NAMES, comparison_section, flip_tta_probs, improvement_section, measure,
                                          softmax_probs, top_confusions)
from tamrin.experiments._fer_improve import cam_hypothesis
from tamrin.experiments._fer_transfer import (freeze_report, left_out_section, pretrained_backbone, train_transfer,
                                              transfer_model, transfer_probs)
from tamrin.data.face_augment import FaceAugment
from tamrin.models import create
from tamrin.models.weights import hash_prefix_from_name
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.report.standard import architecture_section, evaluate_classification
from tamrin.report.training_report import fit_steps, train_config_settings, training_report
from tamrin.train import TrainConfig, fit

ANCHORS = ("Reference points (not measured here): Hewitt & Gunes' VGG-style network reaches 58% accuracy, 0.58 macro-F1 "
           "and ROC AUC 0.90 on AffectNet's 8-class validation set; on FER2013 human accuracy is about 65%, and the best "
           "single VGG-style networks reach about 73% when trained on all 28,709 training images.")


def _sgd(epochs: int, lr: float = 0.05, bs: int = 64, **kw) -> TrainConfig:
    kw = {"schedule": "cosine", "weight_decay": 5e-4, "label_smoothing": 0.1, **kw}
    return TrainConfig(epochs=epochs, batch_size=bs, optimizer="sgd", lr=lr, momentum=0.9, nesterov=True, **kw)


def recipe(tc: TrainConfig) -> str:
    """One line saying how a model was trained (reports and benchmarks)."""
    return (f"{tc.optimizer}{' with Nesterov momentum ' + format(tc.momentum, 'g') if tc.optimizer == 'sgd' and tc.nesterov else ''}, "
            f"learning rate {tc.lr:g} ({tc.schedule} schedule), batch {tc.batch_size}, weight decay {tc.weight_decay:g}, "
            f"label smoothing {tc.label_smoothing:g}")


def _adam(epochs: int, lr: float = 1e-3, bs: int = 64, **kw) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=bs, optimizer="adam", lr=lr, weight_decay=1e-4, schedule="cosine", **kw)


@dataclass
class TransferConfig:
    enabled: bool = True
    # input side and width of the VGG16: the defaults fit the CPU budget (about 30 min for pretraining + fine-tuning
    # on one core); on a GPU: width=1 size=224 pretrained=imagenet (the real VGG16 and its ImageNet weights)
    size: int = 48
    width: float = 0.25         # < 1: a width-reduced VGG16 (same layers and keys, thinner; cannot load ImageNet weights)
    # "" = pretrain on CIFAR-10 here; "imagenet", or a path/URL of vgg16-397923af.pth, or the backbone file an
    # earlier run saved (RUN/cache/vgg16_cifar10_backbone.pt)
    pretrained: str = ""
    cifar_images: int = 0       # CIFAR-10 images used for pretraining (0 = all 50,000; 10% held out)
    pretrain_batch_norm: bool = True  # pretrain with BN after each conv, then fold it into the convs (plain VGG16)
    pretrain: TrainConfig = field(default_factory=lambda: _sgd(6, 0.05, 128, schedule="onecycle", label_smoothing=0.0))
    head_hidden: int = 256
    head: TrainConfig = field(default_factory=lambda: _adam(40, 1e-3, 128))
    # unfreeze features.<this index> and later for fine-tuning: 0 = every layer (CIFAR-10 objects -> faces is a large
    # domain gap: a head on the frozen features reached 30.0%, fine-tuning everything 51.9%; benchmarks/fer.md)
    finetune_from: int = 0
    finetune: TrainConfig = field(default_factory=lambda: _sgd(30, 0.01))


@dataclass
class Config:
    seed: int = 0
    # a folder with train/ and validation/ class folders and, optionally, test/ (e.g. FER2013 PrivateTest): when present
    # it is evaluated and reported beside validation everywhere ("" = the shared FER2013 subset, which has no test/)
    data_dir: str = ""
    test_dir: str = ""  # a test split elsewhere (a folder of class folders); "" = data_dir's test/ when it has one
    image_size: int = 48        # side of the compact VGGs' input (the paper: 128); 0 = keep the files' size
    color_mode: str = "auto"    # "L", "RGB" or "auto" (from the files)
    train_per_class: int = 0    # at most this many training images per class (0 = all)
    val_per_class: int = 0      # at most this many validation/test images per class (0 = all)
    class_weights: bool = True
    augment: FaceAugment = field(default_factory=FaceAugment)
    compact_width: float = 1.0
    # the paper's code: Gaussian dropout 0.2 after each pool, dropout 0.5 after the dense layers. Off by default:
    # measured on the FER2013 subset, with it 98% of the flatten head's first dense-layer ReLUs are dead after 4
    # epochs of Adam and training accuracy stays at chance (benchmarks/fer_dead_units.md); also, at a 30-minute
    # budget the GAP variant with it scored 5 points lower (50.0% vs 55.1% after 20 epochs, benchmarks/fer_recipes.md).
    # --set dropout_conv=0.2 --set dropout_fc=0.5 restores the paper's values.
    dropout_conv: float = 0.0
    dropout_fc: float = 0.0
    # with SGD at lr 0.05 the flatten head's dense layer loses up to 95% of its units (benchmarks/fer_dead_units.md)
    # and a full run collapsed to one class, so the paper's model uses Adam; the GAP variant trains best with SGD +
    # Nesterov momentum (55.1% vs 54.2% with Adam after 20 epochs; both in benchmarks/fer_recipes.md)
    compact: TrainConfig = field(default_factory=lambda: _adam(60, label_smoothing=0.1))
    gap: TrainConfig = field(default_factory=lambda: _sgd(60, 0.05))
    transfer: TransferConfig = field(default_factory=TransferConfig)
    explain_per_class: int = 0  # validation images per class explained with CAM/Grad-CAM (0 = all)
    # flip-tta: the test-time change the CAM statistics point to, then flip TTA (both measured); none: neither
    improvement: str = "flip-tta"

    @classmethod
    def quick(cls) -> "Config":
        # about a minute on the 2-core CPU: 300 training / 30 validation images per class, 6 epochs for the compact
        # VGGs, which then end above chance (measured 30.5% and 35.2% on 7 classes, chance 14.3%; 100 per class x 2 epochs stayed at
        # 14.3%, one class for every image). Left out (its report section says so, with the command): the VGG16
        # transfer, whose tiny CIFAR-10 pretraining (900 images, 13.0% on CIFAR-10) left it at chance (17.1%) in the
        # demo's seconds. Both cores: nothing else runs beside a demo. A smoke run, not a result (benchmarks/fer.py is).
        q = lambda e, lr=1e-3, bs=64: _adam(e, lr, bs, threads=2)  # noqa: E731
        return cls(train_per_class=300, val_per_class=30, compact=q(6), gap=q(6), explain_per_class=10,
                   transfer=TransferConfig(enabled=False))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        q = lambda e, lr=1e-3, bs=32: _adam(e, lr, bs, threads=1, max_steps_per_epoch=3, progress=False)  # noqa: E731
        return cls(train_per_class=12, val_per_class=6, image_size=24, compact=q(2), gap=q(2), explain_per_class=2,
                   transfer=TransferConfig(size=32, width=0.125, cifar_images=200, pretrain=q(1, 5e-4),
                                           head=q(2, 1e-3, 64), finetune=q(1, 1e-4)))

    def config_notes(self) -> list[str]:
        return ["A test split is evaluated automatically when one exists: test/<class>/ beside train/ and validation/, or "
                "the folder test_dir names (class folders matched to train's by name). Models are selected on validation only."]

    def validate(self):
        if self.color_mode not in ("auto", "L", "RGB"):
            raise UserError(f"color_mode must be auto, L or RGB, got {self.color_mode!r}")
        if self.image_size < 0 or self.transfer.size < 8:
            raise UserError("image_size must be >= 0 (0 = as stored) and transfer.size >= 8")
        if self.improvement not in ("flip-tta", "none"):
            raise UserError(f"improvement must be flip-tta or none, got {self.improvement!r}")
        p = self.transfer.pretrained
        if (p == "imagenet" or p.startswith(("http://", "https://")) or hash_prefix_from_name(p)) and self.transfer.width != 1.0:
            raise UserError("transfer.pretrained (ImageNet VGG16 weights) needs transfer.width=1 (the file has the full widths)")
        if not (self.compact_width > 0 and self.transfer.width > 0):
            raise UserError("compact_width and transfer.width must be positive")
        self.augment.validate()


def _model_sections(run, tag, title, d, probs, level=2):
    """Metrics, ROC and per-class tables per split (the confusion matrices are in the standard report)."""
    out, metrics = [], {}
    for split in d.y:  # headings and captions name the model and split in words; the files keep the tag
        m, secs = evaluate_classification(run, f"{tag}_{split}", d.y[split].numpy(), probs[split], d.classes,
                                          title=f"{title}: {SPLIT_NAMES[split]}", level=level, roc_curve=True,
                                          label=f"{title}, {SPLIT_NAMES[split]}", confusion_matrix=False)
        metrics[split] = m
        out += secs
    return metrics, out


def _standard_report(cfg, run, d, tag, name, res, probs, cw, tr) -> list[Section]:
    """The course's standard training report of one network: curves, confusion per split, settings, architecture."""
    n_train = len(d.y["train"])
    if tag == "vgg16":
        tc = cfg.transfer.finetune if tr["finetune"] else cfg.transfer.head
        head_ep = len(tr["head"].history)
        steps = fit_steps(n_train, cfg.transfer.head, head_ep, history=tr["head"].history) + (
            fit_steps(n_train, tc, len(tr["finetune"].history), history=tr["finetune"].history) if tr["finetune"] else 0)
        best = tr["head"].best_epoch if tr["kept"] == "head" else head_ep + tr["finetune"].best_epoch
        extra = {"stages": f"head on cached frozen-backbone features ({head_ep} epochs), then fine-tuning "
                           f"({len(tr['finetune'].history) if tr['finetune'] else 0} epochs); kept: {tr['kept']}"}
        aug = cfg.augment.describe() + " (fine-tuning only; the head trains on un-augmented cached features)"
    else:
        tc = cfg.compact if tag == "hg_vgg" else cfg.gap
        steps, best, extra, aug = fit_steps(n_train, tc, len(res.history), history=res.history), res.best_epoch, {}, cfg.augment.describe()
    settings = train_config_settings(
        tc, loss="cross-entropy" + (" with class weights (inverse frequency)" if cw is not None else ""), steps=steps,
        epochs=len(res.history), preprocessing="grey pixels scaled to [0, 1]" + (", resized for the backbone" if tag == "vgg16" else ""),
        augmentation=aug, extra={**extra, "time budget (s)": (f"{tc.budget_s:g} (schedule planned over it)" if tc.budget_s else
                                             f"{tc.time_budget_s:g} (checked after each epoch)" if tc.time_budget_s else "off")})
    splits = {SPLIT_NAMES[sp]: (d.y[sp].numpy(), probs[sp]) for sp in d.y}
    # no model here: the architecture section above names the network its parameter count counts
    return training_report(run, tag, classes=d.classes, settings=settings, history=res.history, best_epoch=best,
                           splits=splits, title=f"Training report: {name}", level=2)


COMPACT = {"hg_vgg": "Compact VGG (Hewitt & Gunes)", "hg_vgg_gap": "Compact VGG, GAP head"}
STAGES = (*COMPACT, "vgg16")


def _weights(cfg, d):
    wts = class_weights(d.y["train"], len(d.classes))
    return wts, (wts if cfg.class_weights else None)


def train_compact(cfg: Config, run, d, tag: str):
    """Train one compact VGG ("hg_vgg" or "hg_vgg_gap"); a finished checkpoint in the run folder is reused."""
    n, c, h, w = d.x["train"].shape
    torch.manual_seed(cfg.seed)
    model = create(tag, num_classes=len(d.classes), width_mult=cfg.compact_width, input_size=h, in_chans=c,
                   drop_conv=cfg.dropout_conv, drop_fc=cfg.dropout_fc)
    res = fit(model, (d.x["train"], d.y["train"]), (d.x["validation"], d.y["validation"]),
              cfg.compact if tag == "hg_vgg" else cfg.gap, run, tag=tag, augment=cfg.augment, class_weights=_weights(cfg, d)[1],
              seed=cfg.seed, checkpoint_meta={"classes": list(d.classes), "input_size": [h, w]})  # for `tamrin explain RUN_DIR`
    return model, res


def train_stage(cfg: Config, run, stage: str) -> float:
    """Only the training of one model ("hg_vgg", "hg_vgg_gap" or "vgg16"), no report: lets the three trainings
    run in separate processes (benchmarks/fer.py --jobs 2). A stage writes only its own checkpoints (and, for
    vgg16, its cache/ files); `run` in a folder holding copies of them finds them finished and goes straight to
    the evaluation. Returns the stage's training seconds."""
    if stage not in STAGES:
        raise UserError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    torch.manual_seed(cfg.seed)
    d = load_face_data(cfg, run)
    if stage in COMPACT:
        return train_compact(cfg, run, d, stage)[1].seconds
    pre = pretrained_backbone(cfg, run)
    return train_transfer(cfg, run, d, _weights(cfg, d)[1], cfg.augment, transfer_model(cfg, len(d.classes), pre), pre)["seconds"]


def run(cfg: Config, run) -> list[Section]:
    torch.manual_seed(cfg.seed)
    d = load_face_data(cfg, run)
    k, (n, c, h, w) = len(d.classes), d.x["train"].shape
    if k < 2:
        raise UserError(f"{d.root}/train has {k} class folder(s); a classifier needs at least 2")
    wts, cw = _weights(cfg, d)
    models, results, sections = {}, {}, []
    tr = None
    if cfg.transfer.enabled:  # first, so that a backbone that does not fit fails before any training
        pre = pretrained_backbone(cfg, run)
        tmodel = transfer_model(cfg, k, pre)

    for tag, name in COMPACT.items():
        model, res = train_compact(cfg, run, d, tag)
        probs = {s: softmax_probs(model, x) for s, x in d.x.items()}
        models[tag] = (model, res, probs, name)

    if cfg.transfer.enabled:
        tr = train_transfer(cfg, run, d, cw, cfg.augment, tmodel, pre)
        probs = {s: transfer_probs(tr, x) for s, x in d.x.items()}
        hist = tr["head"].history + (tr["finetune"].history if tr["finetune"] else [])
        hist = [dict(r, epoch=i + 1) for i, r in enumerate(hist)]
        name = "VGG16 transfer" + (f" (width-reduced ×{cfg.transfer.width:g})" if cfg.transfer.width != 1 else "")
        # the head + fine-tuning histories as one result for the report; its training time includes the CIFAR-10
        # pretraining (0 when a saved or ImageNet backbone was loaded)
        models["vgg16"] = (tr["model"], SimpleNamespace(history=hist, seconds=tr["seconds"]), probs, name)

    aug_runs = [(COMPACT[t], len(models[t][1].history), cfg.compact if t == "hg_vgg" else cfg.gap) for t in COMPACT]
    if tr and tr["finetune"]:  # the head stage trains on cached features of un-augmented images: no augmented images
        aug_runs.append(("VGG16 fine-tuning", len(tr["finetune"].history), cfg.transfer.finetune))
    sections += data_sections(cfg, run, d, wts)
    counts_sec, counts = augmentation_counts_section(d, aug_runs)
    sections.append(counts_sec)

    rows = []
    for tag, (model, res, probs, name) in models.items():
        sec = Section(name)
        example = d.x["validation"][:1] if tag != "vgg16" else tr["prep"](d.x["validation"][:1])
        if tag == "vgg16":
            frozen, tuned = freeze_report(model, cfg.transfer.finetune_from)
            sec.text(f"Backbone: {tr['pretrain']['source']}. A new head for the {k} classes (global average pooling → "
                     f"{tr['feature_dim']} features → {cfg.transfer.head_hidden or 'no'} hidden units → {k}; "
                     f"{tr['head_params']:,} parameters) was trained on features computed once with the frozen backbone and "
                     f"cached ({'read back from the run folder, computed before the run was resumed' if tr['features_reused'] else format(tr['feature_seconds'], '.1f') + ' s for all training and validation images'}), in {tr['head'].seconds:.1f} s "
                     f"for {len(tr['head'].history)} epochs, reaching {tr['head_val_acc']:.1%} validation accuracy (head only). "
                     + (("Fine-tuning then unfroze the whole backbone" if not frozen else
                         f"Fine-tuning then unfroze features.{cfg.transfer.finetune_from} onwards")
                        + f" ({tuned:,} trainable parameters, {frozen:,} kept frozen) for {len(tr['finetune'].history)} epoch(s) "
                        f"on augmented {example.shape[-1]} px images ({recipe(cfg.transfer.finetune)}), "
                        f"{tr['finetune'].seconds:.1f} s, best validation accuracy {tr['finetune'].best_val_acc:.1%}."
                        if tr["finetune"] else "No fine-tuning stage was run.")
                     + " " + kept_text(tr) + " The curves show head epochs first, then fine-tuning epochs.")
        else:
            tc = cfg.compact if tag == "hg_vgg" else cfg.gap
            by_budget = tc.time_budget_s and res.seconds >= tc.time_budget_s and len(res.history) < tc.epochs
            sec.text(f"Trained from scratch on {h}x{w}x{c} inputs for {len(res.history)} epochs ({res.seconds:.1f} s"
                     + (f", stopped by the {tc.time_budget_s / 60:g}-minute budget" if by_budget else "") + f"): {recipe(tc)}, dropout {cfg.dropout_conv:g} after pools and "
                     f"{cfg.dropout_fc:g} before the dense layers; the weights of the best validation epoch ({res.best_epoch}) are kept.")
        label = net_label(name, example.shape[1:], k)  # which network a parameter count counts, everywhere
        sec_list = [sec, architecture_section(model, example, level=2, name=label)]
        std = _standard_report(cfg, run, d, tag, name, res, probs, cw, tr)
        metrics, evs = _model_sections(run, tag, name, d, probs)
        sections += sec_list + std + evs
        mm = measure(model, example)
        v = metrics["validation"]
        rows.append({"tag": tag, "name": name, "network": label, **mm, "seconds": res.seconds, "acc": v["accuracy"],
                     "macro_f1": v["macro_f1"], "at_chance": v["chance"]["at_chance"], "kappa": v["kappa"], "auc": v["auc_macro"],
                     "splits": {sp: {key: metrics[sp][key] for key in ("accuracy", "macro_f1", "kappa", "auc_macro")}
                                for sp in ("validation", "test") if sp in metrics},
                     **({"test_acc": metrics["test"]["accuracy"], "test_macro_f1": metrics["test"]["macro_f1"]}
                        if "test" in metrics else {})})
        results[tag] = metrics
    if not cfg.transfer.enabled:
        sections.append(left_out_section(TransferConfig().width))
    yv = d.y["validation"]
    majority = float(torch.bincount(yv, minlength=k).max()) / max(1, len(yv))
    ref_p = reference_networks()["vgg16"][0]
    reference = ("VGG16 as in the assignment (not trained here)", net_label("VGG16", (3, 224, 224), 8), ref_p)
    trained = {r["tag"]: (r["params"], models[r["tag"]][0], tuple(int(v) for v in r["input"].split("×"))) for r in rows}
    per_class = {str(c): int(v) for c, v in zip(d.classes, torch.bincount(d.y["train"], minlength=k).tolist())}
    sections[:0] = [comparison_section(rows, ANCHORS, majority, reference), deviations_section(cfg, d, per_class, trained, tr)]

    sections += _explain(cfg, run, d, models)
    best = max(rows, key=lambda r: r["acc"])
    improvement = cam_improvement = None
    if cfg.improvement == "flip-tta":
        sec, cam_improvement = _cam_improve(run, d, models["hg_vgg"], results["hg_vgg"])
        sections.append(sec)
        sec, improvement = _improve(run, d, models[best["tag"]], best, results[best["tag"]], tr)
        sections.append(sec)
    stages = None
    if tr is not None:  # what each transfer stage reached on validation (the pretraining: on held-out CIFAR-10)
        stages = {"pretrain_val_acc": tr["pretrain"].get("val_acc"), "head_val_acc": tr["head_val_acc"],
                  "finetune_val_acc": tr["finetune"].best_val_acc if tr["finetune"] else None, "kept": tr["kept"]}
    run.write_json("results.json", {"models": rows, "classes": d.classes, "train_images": n, "improvement": improvement,
                                    "cam_improvement": cam_improvement, "transfer_stages": stages,
                                    "reference_vgg16_params": ref_p, "augmentation_counts": counts})
    return sections


def kept_text(tr) -> str:
    """Which VGG16 stage is the reported model, from the two validation accuracies."""
    h = tr["head_val_acc"]
    if tr["finetune"] is None:
        return f"The reported VGG16 is the head-only model ({h:.1%} on validation)."
    f = tr["finetune"].best_val_acc
    if tr["kept"] == "head":
        return (f"Fine-tuning ended below the head-only model on validation ({f:.1%} vs {h:.1%}), so the head-only model "
                "is kept and reported below; the fine-tuned weights are discarded.")
    return (f"The fine-tuned model is kept and reported below: {f:.1%} on validation vs {h:.1%} for the head alone"
            + (" (a tie keeps the fine-tuned one)." if f == h else "."))


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


def _splits(d, model_probs, new_probs_fn):
    """{split: (y, probs before, probs after)} for validation and, when present, test."""
    return {sp: (d.y[sp].numpy(), model_probs[sp], new_probs_fn(sp)) for sp in ("validation", "test") if sp in d.y}


def _cam_improve(run, d, entry, metrics):
    """The q5c model (paper's flatten head, explained with Grad-CAM) + the test-time change its maps point to."""
    model, _, probs, name = entry
    st = json.loads((run.path / "explain_gradcam_stats.json").read_text())
    hyp = cam_hypothesis(st, "Grad-CAM", name)
    title = "An improvement suggested by the CAM statistics, tried and measured"
    if hyp is None:
        return Section(title).notice(f"All {st['n']:,} explained images of {name} fall in one group (all correct or all wrong), "
                                "so the maps cannot suggest where errors come from; no CAM-derived change is tested."), None
    conf = top_confusions(metrics["validation"]["confusion"], d.classes)
    pairs = "; ".join(f"{a} taken for {b} {cnt} times ({share:.0%} of {a})" for a, b, cnt, share in conf)
    why = hyp["why"] + (f" The most frequent confusions of {name} on validation: {pairs}." if pairs else "")
    sec, res = improvement_section(name, _splits(d, probs, lambda sp: softmax_probs(model, hyp["fn"](d.x[sp]))),
                                   d.classes, why, hyp["what"], title=title)
    return sec, {"model": "hg_vgg", "kind": hyp["kind"], "mass_diff": hyp["diff"], "clear": hyp["clear"],
                 **{sp: {"acc_before": r["before"]["accuracy"], "acc_after": r["after"]["accuracy"]} for sp, r in res.items()}}


def _improve(run, d, entry, row, metrics, tr):
    """Flip test-time augmentation on the best validation model: a separate measured item, not CAM-derived."""
    model, _, probs, name = entry
    why = (f"A second, separate item (not derived from the maps): {name} is the best model on validation. Expressions are "
           "(nearly) left-right symmetric, so the evidence a prediction should rely on is present in both an image and its "
           "mirror, while one-sided clutter is not. Averaging the class probabilities of each image and its left-right "
           "mirror (test-time flip augmentation) keeps what both views agree on; it costs one extra forward pass and no retraining.")
    prep = (lambda v: tr["prep"](v)) if row["tag"] == "vgg16" else (lambda v: v)  # noqa: E731
    sec, res = improvement_section(name, _splits(d, probs, lambda sp: flip_tta_probs(model, prep(d.x[sp]))), d.classes, why,
                                   "flip test-time augmentation",
                                   title="An improvement not derived from the maps: flip test-time augmentation, measured")
    v = res["validation"]
    out = {"model": row["tag"], "acc_before": v["before"]["accuracy"], "acc_after": v["after"]["accuracy"],
           "macro_f1_before": v["before"]["macro_f1"], "macro_f1_after": v["after"]["macro_f1"]}
    if "test" in res:
        t = res["test"]
        out["test"] = {"acc_before": t["before"]["accuracy"], "acc_after": t["after"]["accuracy"],
                       "macro_f1_before": t["before"]["macro_f1"], "macro_f1_after": t["after"]["macro_f1"]}
    return sec, out


EXPERIMENT = Experiment(
    name="fer",
    description="Facial expressions on image folders: face augmentation, VGG16 transfer, compact VGG, ROC, CAM",
    exercise="Facial expression recognition (AffectNet/FER2013): augmentation, transfer learning, mobile VGG, CAM",
    config=Config, run=run, order=70,
)
