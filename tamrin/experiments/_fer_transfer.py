"""fer, part (b): transfer learning with VGG16.

1. A pretrained backbone: the published ImageNet file (`pretrained=` a path or URL of vgg16-397923af.pth,
   SHA-256 checked), a backbone file saved by an earlier run, or, when none is given (no internet on the
   course machines), the same VGG16 backbone trained here on CIFAR-10 -- with batch norm after each conv,
   folded into the conv weights afterwards, so what is transferred is the plain VGG16 (torchvision's keys).
2. Freeze it and compute every image's pooled feature vector ONCE (cached in the run folder): the new
   head then trains on (N, C) tensors in seconds instead of pushing images through 13 convs every epoch.
3. Fine-tune: unfreeze the backbone from features.<finetune_from> on (default: all of it; CIFAR-10 objects
   and faces are far apart) and train it with the head on augmented images, at a learning rate small
   enough that the pretrained filters are adapted, not destroyed.
4. Keep the better stage by validation accuracy: the fine-tuned model only if it is at least as good as the
   head on the frozen backbone (a tie keeps the fine-tuned one); the report says which was kept.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tamrin.data.augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalize, resize
from tamrin.data import load_cifar10, stratified_split, to_tensor
from tamrin.data.paths import display_path
from tamrin.models import create
from tamrin.models.vgg import fold_batchnorm
from tamrin.models.weights import VGG16_IMAGENET_URL, fetch_weights, load_backbone
from tamrin.report import Section
from tamrin.runs import atomic_write_bytes
from tamrin.train import fit, predict

__all__ = ["vgg_inputs", "cached_features", "pretrained_backbone", "transfer_model", "train_transfer", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def vgg_inputs(x: torch.Tensor, size: int, mean, std) -> torch.Tensor:
    """Images in [0, 1] -> what the pretrained VGG16 expects: 3 channels (grey repeated), `size` px, standardised."""
    if x.shape[1] != 3:
        x = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    return normalize(resize(x, size), mean, std)


@torch.no_grad()
def cached_features(model, x: torch.Tensor, path: Path | None = None, batch_size: int = 256) -> torch.Tensor:
    """Globally pooled backbone features (N, C) of x, computed once; with `path`, stored there and
    reused by later calls (a resumed run does not recompute them)."""
    if path is not None and path.is_file():
        f = torch.load(path, weights_only=True)
        if f.shape[0] == len(x):
            return f
    was = model.training
    model.eval()
    out = torch.cat([model.forward_head(model.forward_features(x[i:i + batch_size]), pre_logits=True)
                     for i in range(0, len(x), batch_size)]) if len(x) else torch.empty(0, model.num_features)
    model.train(was)
    if path is not None:
        import io

        buf = io.BytesIO()
        torch.save(out, buf)
        atomic_write_bytes(path, buf.getvalue())
    return out


BACKBONE_FILE = "vgg16_cifar10_backbone.pt"  # in the run's cache/: reusable with transfer.pretrained=<that path>


def pretrained_backbone(cfg, run) -> dict:
    """{"state": features state_dict, "source": words, "mean", "std", "history", "val_acc", "seconds"}."""
    t = cfg.transfer
    if t.pretrained:
        return _load_pretrained(t.pretrained)
    saved = run.path / "cache" / BACKBONE_FILE
    if saved.is_file():  # a resumed run: the pretraining finished before the interruption
        return _load_pretrained(str(saved), this_run=True)
    ds = load_cifar10("", "train", run=run)
    if t.cifar_images and t.cifar_images < len(ds):
        ds = ds.subset(_per_class(ds.labels, t.cifar_images // len(ds.classes), cfg.seed))
    tr, va = stratified_split(ds.labels, 0.1, cfg.seed)
    x, y = to_tensor(ds)
    norm = lambda v: normalize(v, CIFAR10_MEAN, CIFAR10_STD)  # noqa: E731
    torch.manual_seed(cfg.seed)
    # trained WITH batch norm (a 13-layer plain VGG learns slowly and fragilely from scratch), then the BNs are
    # folded into the convs: the result is the plain VGG16 backbone, torchvision's keys and shapes
    model = create("vgg16", num_classes=len(ds.classes), width_mult=t.width, input_size=32, head="gap", head_hidden=0,
                   drop_rate=0.0, batch_norm=t.pretrain_batch_norm)
    res = fit(model, (norm(x[tr]), y[tr]), (norm(x[va]), y[va]), t.pretrain, run, tag="vgg16_cifar10",
              augment=lambda xb, g: crop_flip(xb, g), seed=cfg.seed)
    plain = fold_batchnorm(res.model) if t.pretrain_batch_norm else res.model
    source = (f"no ImageNet weights available (no internet here; set transfer.pretrained to a local vgg16-397923af.pth "
              f"or its URL to use them): the same VGG16 backbone{' (width-reduced ×%g)' % t.width if t.width != 1 else ''} was "
              f"pretrained here on {len(tr):,} CIFAR-10 images ({ds.source}) for {len(res.history)} epoch(s) "
              f"({res.seconds / 60:.1f} min), reaching {res.best_val_acc:.1%} accuracy on {len(va):,} held-out CIFAR-10 images"
              + (", with batch norm after each conv during pretraining, folded into the conv weights afterwards (the "
                 "transferred backbone is the plain VGG16)" if t.pretrain_batch_norm else ""))
    state = {k: v for k, v in plain.state_dict().items() if k.startswith("features.")}
    _save_backbone(saved, state, source, res.best_val_acc, res.seconds)
    # the run folder's own location is the machine's business: the report names the file relative to it
    run.notice(f"Transfer learning: {source}. The backbone is saved in this run's folder as cache/{BACKBONE_FILE}; "
               f"reuse it in another run with --set transfer.pretrained=RUN_DIR/cache/{BACKBONE_FILE}.")
    return {"state": state, "mean": CIFAR10_MEAN, "std": CIFAR10_STD, "source": source, "history": res.history,
            "val_acc": res.best_val_acc, "seconds": res.seconds}


def _save_backbone(path: Path, state: dict, source: str, val_acc: float, seconds: float) -> None:
    """tamrin's backbone file: the features state_dict plus the input standardisation it was trained with."""
    import io

    buf = io.BytesIO()
    torch.save({"state_dict": state, "mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD), "source": source,
                "val_acc": float(val_acc), "seconds": float(seconds)}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_pretrained(spec: str, this_run: bool = False) -> dict:
    """"imagenet", a URL or a path: torchvision's vgg16 file (ImageNet standardisation) or a backbone file
    saved by a run of this experiment (which carries its own standardisation and description). this_run: the
    file is this run's own (resumed), so its pretraining time counts as this run's training time."""
    src = VGG16_IMAGENET_URL if spec == "imagenet" else spec
    sd = torch.load(fetch_weights(src), map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd and "mean" in sd:
        loaded = "this run's, loaded" if this_run else "loaded"
        return {"state": sd["state_dict"], "mean": tuple(sd["mean"]), "std": tuple(sd["std"]),
                "source": f"{sd['source']} ({loaded} from {'cache/' + Path(src).name if this_run else display_path(src)})",
                "history": [], "val_acc": sd.get("val_acc"), "seconds": sd.get("seconds", 0.0) if this_run else 0.0}
    return {"state": {k: v for k, v in sd.items() if k.startswith("features.")}, "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD, "source": f"ImageNet weights from {src if '://' in src else display_path(src)} (SHA-256 checked)", "history": [], "seconds": 0.0}


def _per_class(labels, n, seed):
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == k))[:n] for k in np.unique(labels)]))


def transfer_model(cfg, k: int, pre: dict) -> nn.Module:
    """The VGG16 with a new head for k classes and the pretrained backbone loaded (a clear error if it does not fit)."""
    t = cfg.transfer
    torch.manual_seed(cfg.seed)
    model = create("vgg16", num_classes=k, width_mult=t.width, input_size=t.size, head="gap", head_hidden=t.head_hidden)
    load_backbone(model, pre["state"])
    return model


def train_transfer(cfg, run, d, weights, augment, model: nn.Module, pre: dict) -> dict:
    """`model` (transfer_model: the pretrained backbone `pre` + a new head) -> cached features -> head ->
    fine-tune. Returns the model and timings; "seconds" = pretraining + features + head + fine-tuning."""
    t = cfg.transfer
    prep = lambda v: vgg_inputs(v, t.size, pre["mean"], pre["std"])  # noqa: E731
    xs = {s: prep(v) for s, v in d.x.items()}
    for p in model.features.parameters():  # stage 1: frozen backbone
        p.requires_grad_(False)
    cache = run.path / "cache"
    files = {s: cache / f"vgg16_features_{s}.pt" for s in ("train", "validation")}
    feats_reused = all(f.is_file() for f in files.values())  # a resumed run reads them back
    t0 = time.perf_counter()
    feats = {s: cached_features(model, xs[s], f) for s, f in files.items()}
    feat_s = time.perf_counter() - t0
    cw = weights if cfg.class_weights else None
    head = fit(model.classifier, (feats["train"], d.y["train"]), (feats["validation"], d.y["validation"]), t.head, run,
               tag="vgg16_head", class_weights=cw, seed=cfg.seed)
    # the head-only model, kept in case fine-tuning ends below it on validation (then it is the model we keep)
    head_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # stage 2: unfreeze the layers from features.<finetune_from> on; the head keeps its trained weights
    trainable = [n for n, p in model.features.named_parameters() if int(n.split(".")[0]) >= t.finetune_from]
    for n, p in model.features.named_parameters():
        p.requires_grad_(int(n.split(".")[0]) >= t.finetune_from)
    aug = None
    if augment is not None:  # augmentation works on [0, 1] pixels: undo the standardisation, augment, redo it
        aug = lambda xb, g: normalize(augment(_unprep(xb, pre), g), pre["mean"], pre["std"])  # noqa: E731
    ft = None
    if t.finetune.epochs > 0 and trainable:
        ft = fit(model, (xs["train"], d.y["train"]), (xs["validation"], d.y["validation"]), t.finetune, run,
                 tag="vgg16_finetune", augment=aug, class_weights=cw, seed=cfg.seed,
                 checkpoint_meta={"classes": list(d.classes), "input_size": [t.size, t.size],
                                  "normalize": {"mean": list(pre["mean"]), "std": list(pre["std"])}})
    kept = "finetune" if ft is not None and ft.best_val_acc >= head.best_val_acc else "head"
    if kept == "head":  # fine-tuning did not beat the head on validation (or did not run): keep the better stage
        model.load_state_dict(head_state)
    for p in model.parameters():
        p.requires_grad_(True)
    seconds = pre["seconds"] + feat_s + head.seconds + (ft.seconds if ft else 0.0)
    return {"model": model, "prep": prep, "pretrain": pre, "feature_seconds": feat_s, "features_reused": feats_reused,
            "head": head, "finetune": ft, "seconds": seconds, "kept": kept,
            "kept_val_acc": ft.best_val_acc if kept == "finetune" else head.best_val_acc,
            "head_val_acc": head.best_val_acc, "trainable": trainable, "feature_dim": int(feats["train"].shape[1]),
            "head_params": sum(p.numel() for p in model.classifier.parameters())}


def _unprep(xb, pre):
    """Undo the standardisation, back to [0, 1] pixels (3 channels, the VGG input size)."""
    m = torch.tensor(pre["mean"]).view(1, -1, 1, 1)
    s = torch.tensor(pre["std"]).view(1, -1, 1, 1)
    return (xb * s + m).clamp(0, 1)


def transfer_probs(out: dict, x: torch.Tensor) -> np.ndarray:
    return torch.softmax(predict(out["model"], out["prep"](x)), 1).numpy()


def freeze_report(model: nn.Module, finetune_from: int) -> tuple[int, int]:
    """(parameters in the frozen part, parameters trained in fine-tuning)."""
    frozen = sum(p.numel() for n, p in model.features.named_parameters() if int(n.split(".")[0]) < finetune_from)
    return frozen, sum(p.numel() for p in model.parameters()) - frozen


def left_out_section(default_width: float) -> Section:
    """Where the VGG16 transfer would be when a run leaves it out (p4.q5b claims the sections titled "VGG16")."""
    return Section("VGG16 transfer: not in this run").notice(
        "The VGG16 transfer (p4.q5b) is not trained in this run (transfer.enabled=false; the quick preset leaves it out: "
        "its CIFAR-10 pretraining needs minutes before it transfers anything). `tamrin run fer` trains it: a width-"
        f"×{default_width:g} VGG16 pretrained on CIFAR-10 here, a head on its cached features, then fine-tuning; on a GPU, "
        "`tamrin run fer --set transfer.pretrained=imagenet --set transfer.width=1 --set transfer.size=224` uses the "
        "published ImageNet weights.")
