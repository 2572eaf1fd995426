"""Cheap per-epoch curves for Forward-Forward, so its report has loss AND accuracy for train and validation
like every other training (issue #16).

FF's "accuracy" is its own prediction rule: supervised FF runs every label through the net and takes the one
with the largest accumulated goodness; unsupervised FF has no classes, so its accuracy is that of a linear
softmax read-out fitted on a fixed training subset of the current features (labels enter only that read-out,
which never changes the network). Validation loss is the FF loss on a fixed validation subset with fixed
negatives. Everything is drawn ONCE from its own generator and the training generator is never touched, so the
training — and a resumed run — are exactly what they were without these curves.
"""
from __future__ import annotations

import torch

from tamrin.ff.labels import embed_label, random_wrong_labels
from tamrin.ff.net import FFNet
from tamrin.ff.probe import error_rate, fit_softmax

SUBSET = 1000  # images per fixed subset: a few hundred milliseconds per epoch on a CPU
MONITOR_WD, MONITOR_ITERS = 1e-3, 50  # the per-epoch read-out of unsupervised FF: L2 weight decay, L-BFGS iterations


def _subset(n: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[: min(n, k)].sort().values


@torch.no_grad()
def _ff_loss(net: FFNet, pos: torch.Tensor, neg: torch.Tensor) -> float:
    losses, _, _ = net.local_losses(pos, neg, list(range(len(net.layers))))
    return float(sum(float(l) for l in losses))


def supervised_eval(net: FFNet, x_tr, y_tr, x_va, y_va, score_layers=None, seed: int = 0, k: int = SUBSET):
    """eval_fn for train_supervised: val_err (whole validation split, as before), train_acc on a fixed training
    subset, val_acc, and val_loss (FF loss, true vs fixed random wrong labels) on a fixed validation subset."""
    it, iv = _subset(len(y_tr), k, seed + 11).to(y_tr.device), _subset(len(y_va), k, seed + 12).to(y_va.device)
    xs_tr, ys_tr, xs_va, ys_va = x_tr[it], y_tr[it], x_va[iv], y_va[iv]
    wrong = random_wrong_labels(ys_va, torch.Generator().manual_seed(seed + 13))
    pos, neg = embed_label(xs_va, ys_va), embed_label(xs_va, wrong)

    @torch.no_grad()
    def f(m):
        val_err = float((m.predict(x_va, score_layers) != y_va).float().mean())
        return {"val_err": val_err, "val_acc": 1.0 - val_err, "val_loss": _ff_loss(m, pos, neg),
                "train_acc": float((m.predict(xs_tr, score_layers) == ys_tr).float().mean())}

    return f


def unsupervised_eval(net: FFNet, x_tr, y_tr, x_va, y_va, layers, make_negatives, seed: int = 0, k: int = SUBSET,
                      weight_decay: float = MONITOR_WD, iters: int = MONITOR_ITERS):
    """eval_fn for train_unsupervised: a linear read-out on the current features of a fixed training subset
    (train_acc there, val_acc on a fixed validation subset) and val_loss, the FF loss of fixed validation
    images against fixed hybrids. `make_negatives(x, generator)` builds the hybrids (label-free)."""
    it, iv = _subset(len(y_tr), k, seed + 21).to(y_tr.device), _subset(len(y_va), k, seed + 22).to(y_va.device)
    xs_tr, ys_tr, xs_va, ys_va = x_tr[it], y_tr[it], x_va[iv], y_va[iv]
    neg = make_negatives(xs_va, torch.Generator().manual_seed(seed + 23))

    def f(m):
        with torch.no_grad():
            f_tr, f_va = m.features(xs_tr, layers), m.features(xs_va, layers)
        with torch.random.fork_rng(devices=[]):  # nn.Linear's init draws from the global RNG: leave it as it was
            lin = fit_softmax(f_tr, ys_tr, weight_decay, iters)
        return {"train_acc": 1.0 - error_rate(lin, f_tr, ys_tr), "val_acc": 1.0 - error_rate(lin, f_va, ys_va),
                "val_loss": _ff_loss(m, xs_va, neg)}

    return f


def standard_history(hist: list[dict]) -> list[dict]:
    """FF records -> the keys training_report draws: train_loss is the summed per-layer FF loss of the epoch."""
    out = []
    for r in hist:
        h = {"epoch": r["epoch"]}
        for src, dst in (("loss", "train_loss"), ("train_acc", "train_acc"), ("val_loss", "val_loss"), ("val_acc", "val_acc")):
            if r.get(src) is not None:
                h[dst] = r[src]
        if "train_acc" not in h and r.get("train_err") is not None:  # the backprop baseline logs an error rate
            h["train_acc"] = 1.0 - r["train_err"]
        if "val_acc" not in h and r.get("val_err") is not None:
            h["val_acc"] = 1.0 - r["val_err"]
        out.append(h)
    return out


def backprop_eval(x_va, y_va):
    """eval_fn for the backprop baseline: validation error and cross-entropy on the whole validation split."""
    import torch.nn.functional as F

    @torch.no_grad()
    def f(m):
        m.eval()
        logits = m(x_va)
        return {"val_err": float((logits.argmax(1) != y_va).float().mean()), "val_loss": float(F.cross_entropy(logits, y_va))}

    return f


def ff_settings(cfg_train, n_train: int, epochs: int, extra: dict, preprocessing: str, loss: str) -> dict:
    """The settings rows of an FF training (tamrin.report.training_report's required items and more)."""
    import math

    sched = ("constant for the first half of the epochs, then linear decay to 0 (set per epoch)" if cfg_train.lr_decay
             else "constant")
    return {"loss function": loss,
            "optimizer": f"Adam (lr={cfg_train.lr:g}, betas=(0.9, 0.999), weight_decay=0), one optimizer for all layers",
            "learning-rate schedule": sched,
            "layer schedule": cfg_train.schedule + (" (every layer updates on every batch)" if cfg_train.schedule == "simultaneous"
                                                    else " (one layer after the other, each for the configured epochs)"),
            "epochs": epochs, "optimizer steps": math.ceil(n_train / cfg_train.batch_size) * epochs,
            "batch size": cfg_train.batch_size, "model selection": "none: the weights after the last epoch are used",
            "preprocessing": preprocessing, "augmentation": "none", **extra}


def baseline_report(run, cfg, d, model, history: list[dict]) -> list:
    """The standard training report of the backprop MLP both FF experiments compare against (Adam, no label pixels)."""
    from tamrin.report.training_report import training_report

    with torch.no_grad():
        splits = {k: (y.cpu(), model(x).argmax(1).cpu()) for k, x, y in
                  (("train", d.x_tr, d.y_tr), ("validation", d.x_va, d.y_va), ("test", d.x_te, d.y_te))}
    settings = ff_settings(cfg.train, len(d.y_tr), cfg.train.epochs, {"per-epoch curves": "train: running mean over the epoch's "
                                                                       "batches; validation: the whole validation split"},
                           preprocessing="pixels scaled to [0, 1] and flattened (no label pixels)",
                           loss="cross-entropy (mean over the batch)")
    settings["optimizer"] = f"Adam (lr={cfg.baseline_lr:g}, betas=(0.9, 0.999), weight_decay=0)"
    settings.pop("layer schedule")
    return training_report(run, "backprop", history=standard_history(history), splits=splits,
                           classes=[str(c) for c in range(10)], settings=settings, model=model,
                           example_input=d.x_tr[:2], title="Standard report: backprop baseline", keep="last")
