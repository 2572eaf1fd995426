"""The one standard training report every classifier-training experiment calls (issue #16, item 1).

The course (seed 004, first section) asks, for every training: loss and accuracy curves for training and
validation; a coloured confusion matrix with its numbers for train, validation and test; and the settings —
loss, optimizer with its parameters, architecture, number of steps, batch size, split statistics and
preprocessing. `training_report` produces exactly that, and tags each block (`Table.tag` / `Figure.tag`) so
tests find it by tag, not by prose:

- "curves"                  loss + accuracy per epoch, train and validation (one figure; small multiples for many models)
- "confusion:<split>"       coloured confusion matrix with counts and row-% (train, validation, test when given)
- "metrics"                 accuracy and macro-F1 per split (and per model)
- "settings"                loss, optimizer + every parameter, schedule, epochs, optimizer steps, batch size, ...
- "split-sizes"             samples per class in each split
- "architecture"            layer table with parameter counts (when `model` is given)

Usage (one model):

    training_report(run, "mlp", history=res.history, best_epoch=res.best_epoch,
                    splits={"train": (y_tr, p_tr), "validation": (y_va, p_va), "test": (y_te, p_te)},
                    classes=classes, settings=train_config_settings(cfg.train, loss="cross-entropy", steps=...,
                    preprocessing="...", augmentation="none"), model=model, example_input=x_tr[:2])

Many small models: `members={"member 1": {"history": ..., "splits": {...}}, ...}` instead of history/splits.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np

from tamrin.report import figures
from tamrin.report.metrics import _as_numpy, classification_metrics
from tamrin.report.sections import Section
from tamrin.report.small_multiples import confusion_grid, curves_grid
from tamrin.report.standard import describe_model, split_table

__all__ = ["training_report", "train_config_settings", "fit_steps", "REQUIRED_SETTINGS", "SPLITS"]

# what the course requires in every settings table; training_report refuses a table without them
REQUIRED_SETTINGS = ("loss function", "optimizer", "epochs", "optimizer steps", "batch size", "preprocessing", "augmentation")
# accepted split names -> the canonical one used in tags (rnn-sentiment calls its validation split "dev")
SPLITS = {"train": "train", "training": "train", "validation": "validation", "val": "validation", "dev": "validation",
          "test": "test"}
_ORDER = {"train": 0, "validation": 1, "test": 2}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def fit_steps(n_train: int, tc, epochs_run: int, steps_per_epoch: int | None = None, history=None) -> int:
    """Optimizer steps `tamrin.train.fit` took: the count its epoch records carry ("steps", cumulative) when
    `history` is given and has it, else ceil(n / batch) per epoch (capped by max_steps_per_epoch) times epochs."""
    if history and history[-1].get("steps") is not None:
        return int(history[-1]["steps"])
    per = steps_per_epoch if steps_per_epoch is not None else math.ceil(n_train / tc.batch_size)
    if getattr(tc, "max_steps_per_epoch", 0):
        per = min(per, tc.max_steps_per_epoch)
    return int(per * epochs_run)


def _g(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def train_config_settings(tc, *, loss: str, steps: int, epochs: int | None = None, preprocessing: str,
                          augmentation: str, extra: Mapping[str, Any] | None = None) -> dict:
    """Settings rows from a `tamrin.train.TrainConfig`: the optimizer with every parameter it uses, the schedule
    with its warm-up, epochs planned and run, optimizer steps, batch size, label smoothing, clipping, early stopping."""
    params = {"lr": tc.lr}
    if tc.optimizer in ("sgd", "rmsprop"):
        params["momentum"] = tc.momentum
    if tc.optimizer == "sgd":
        params["nesterov"] = bool(tc.nesterov and tc.momentum > 0)
    params["weight_decay"] = tc.weight_decay
    if tc.optimizer in ("adam", "adamw"):
        params["betas"] = "(0.9, 0.999)"  # torch's defaults, which tamrin.train.fit does not change
    run_epochs = tc.epochs if epochs is None else epochs
    rows = {
        "loss function": loss + (f", label smoothing {tc.label_smoothing:g}" if tc.label_smoothing else ""),
        "optimizer": f"{tc.optimizer} (" + ", ".join(f"{k}={_g(v)}" for k, v in params.items()) + ")",
        "learning-rate schedule": f"{tc.schedule}, updated every optimizer step"
                                  + (f", {tc.warmup_epochs:g} warm-up epoch(s)" if tc.warmup_epochs else ""),
        "epochs": run_epochs if run_epochs == tc.epochs else f"{run_epochs} of {tc.epochs} planned (stopped early)",
        "optimizer steps": int(steps),
        "batch size": tc.batch_size,
        "gradient clipping (max norm)": _g(tc.grad_clip) if tc.grad_clip else "off",
        "early stopping (patience)": tc.early_stopping or "off",
        "model selection": "the epoch with the highest validation accuracy (first one on ties)",
        "preprocessing": preprocessing,
        "augmentation": augmentation,
    }
    if tc.max_steps_per_epoch:
        rows["steps per epoch (cap)"] = tc.max_steps_per_epoch
    rows.update(extra or {})
    return rows


def _settings_rows(settings) -> list[list]:
    items = list(settings.items()) if isinstance(settings, Mapping) else [tuple(r) for r in settings]
    have = {str(k) for k, _ in items}
    missing = [k for k in REQUIRED_SETTINGS if k not in have]
    if missing:
        raise ValueError(f"training_report: the settings must state {', '.join(missing)} (the course asks for them)")
    # None would print as "None": an unset value is stated in words
    return [[str(k), "none" if v is None or v == "" else v] for k, v in items]


def _canonical(splits: Mapping[str, Any]) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """{canonical: (shown name, y_true, y_pred)}; probs (N, K) or predictions (N,) accepted."""
    out = {}
    for shown, (y, p) in splits.items():
        canon = SPLITS.get(str(shown).lower().split(" (")[0])  # "test (noise 0.45)" is a test split with a note
        if canon is None:
            raise ValueError(f"training_report: unknown split {shown!r}; use train, validation (or dev), test")
        if canon in out:
            raise ValueError(f"training_report: split {canon} given twice")
        y = _as_numpy(y).astype(np.int64).ravel()
        p = _as_numpy(p)
        pred = p.argmax(1) if p.ndim == 2 else p.astype(np.int64).ravel()
        out[canon] = (str(shown), y, pred)
    if "train" not in out or "validation" not in out:
        raise ValueError("training_report: give at least the train and validation splits")
    return dict(sorted(out.items(), key=lambda kv: _ORDER[kv[0]]))


def _val_at(history, epoch):
    return next((h.get("val_acc") for i, h in enumerate(history) if h.get("epoch", i + 1) == epoch), None)


def _epochs_sentence(label: str, history, best: int | None, last: bool) -> str:
    n = len(history)
    if last:
        return f"{label}: {n} epoch(s); the weights after the last epoch are used (no selection on validation)."
    if best is None:
        return f"{label}: {n} epoch(s); no validation accuracy was recorded, so the last epoch's weights are used."
    acc = _val_at(history, best)
    acc_s = f" (validation accuracy {acc:.4f})" if acc is not None else ""
    if n == 1:
        return f"{label}: one epoch; its weights{acc_s} are used."
    where = "the last epoch" if best == history[-1].get("epoch", n) else f"epoch {best} of {n}"
    return f"{label}: {n} epochs; the weights kept are those of {where}{acc_s}, the highest validation accuracy."


def training_report(run, name: str, *, classes: Sequence[str], settings, history: Sequence[dict] | None = None,
                    splits: Mapping[str, Any] | None = None, members: Mapping[str, Mapping] | None = None,
                    best_epoch: int | None = None, model=None, example_input=None, title: str | None = None,
                    level: int = 1, notes: Sequence[str] = (), keep: str = "best",
                    architecture: tuple[list[str], list[list]] | None = None,
                    same_architecture: bool = True) -> list[Section]:
    """Curves, confusion matrices per split, metrics, settings, split sizes and architecture of one training.

    Either `history` + `splits` (one model) or `members` = {model name: {"history": [...], "splits": {...},
    optional "best_epoch"}} (many small models: one small-multiples figure for the curves and one per split for
    the confusion matrices). `splits` = {"train": (y_true, probs or predictions), "validation"/"dev": (...),
    "test": (...) when there is one}; a name may carry a note in brackets, "test (harder, noise 0.45)".
    `history`: per-epoch dicts with epoch, train_loss, train_acc, val_loss, val_acc (missing keys are not drawn). `best_epoch`: the epoch whose weights were kept (default: the first
    with the highest val_acc, tamrin.train.fit's rule) — the text and the figure's marker both use it.
    `keep="last"` for a trainer without model selection (Forward-Forward): the last epoch is marked.
    `model` (a torch module) gives the architecture table; for a NumPy model pass `architecture=(columns, rows)`
    with a "parameters" column and a last "total" row. With `members`, `model` is the first member's network;
    `same_architecture=False` says so instead of claiming every member has it.
    """
    if keep not in ("best", "last"):
        raise ValueError(f"training_report: keep must be 'best' or 'last', got {keep!r}")
    if (members is None) == (history is None and splits is None):
        raise ValueError("training_report: give either history + splits or members")
    setting_rows = _settings_rows(settings)  # checked first: a missing item fails before any figure is drawn
    classes = [str(c) for c in classes]
    slug = _slug(name)
    if members is None:
        members = {name: {"history": list(history or []), "splits": splits, "best_epoch": best_epoch}}
        single = True
    else:
        single = False
    mem = {}
    for mname, m in members.items():
        hist = list(m.get("history") or [])
        if keep == "last":
            best = hist[-1].get("epoch", len(hist)) if hist else None
        else:
            best = m.get("best_epoch") or figures.best_epoch(hist)
        mem[mname] = {"history": hist, "best": best, "splits": _canonical(m["splits"])}
    first = next(iter(mem.values()))
    split_names = list(first["splits"])

    s = Section(title or f"Training report: {name}", level=level)
    for note in notes:
        s.notice(note)
    for mname, m in mem.items():
        s.text(_epochs_sentence(f"`{mname}`" if not single else "Training", m["history"], m["best"], keep == "last"))

    # ---- curves
    if single:
        fig = figures.curves(first["history"], best=first["best"])
        cap = ("Loss (left) and accuracy (right) per epoch, training (solid) and validation (dashed); the dotted line marks "
               "the epoch whose weights are kept.")
    else:
        fig = curves_grid({k: v["history"] for k, v in mem.items()}, best={k: v["best"] for k, v in mem.items()})
        cap = (f"Every model ({len(mem)}): loss (upper panel) and accuracy (lower panel) per epoch, training solid, validation "
               "dashed; the dotted line marks the epoch kept.")
    s.figure(run.save_figure(fig, f"{slug}_curves"), cap, base=run.path, tag="curves")

    # ---- metrics per split (and model)
    rows, cms = [], {sp: {} for sp in split_names}
    for mname, m in mem.items():
        for canon, (shown, y, pred) in m["splits"].items():
            met = classification_metrics(y, pred, None, classes)
            cms[canon][mname] = np.asarray(met["confusion"])
            rows.append(([] if single else [mname]) + [shown, int(met["n"]), float(met["accuracy"]), float(met["macro_f1"])])
    s.table(([] if single else ["model"]) + ["split", "samples", "accuracy", "macro-F1"], rows,
            "Accuracy and macro-F1 (every class weighted equally) of the kept weights on each split.", tag="metrics")

    # ---- confusion matrices, one per split
    for canon in split_names:
        shown = first["splits"][canon][0]
        if single:
            cm = cms[canon][name]
            fig = figures.confusion(cm, classes, f"Confusion matrix ({shown})")
            s.figure(run.save_figure(fig, f"{slug}_confusion_{canon}"),
                     f"Confusion matrix on {shown}: rows true class, columns predicted; each cell the count and the % of its row "
                     "(the diagonal is the recall per class).", width=figures.confusion_width(len(classes)), base=run.path,
                     tag=f"confusion:{canon}")
        else:
            fig = confusion_grid(cms[canon], classes, f"Confusion matrices on {shown}")
            what = "counts" if len(classes) <= 12 else "colours only (too many classes for numbers)"
            s.figure(run.save_figure(fig, f"{slug}_confusion_{canon}"),
                     f"Confusion matrix of every model on {shown}: rows true class, columns predicted; colour = % of the row, "
                     f"numbers = {what}.", base=run.path, tag=f"confusion:{canon}")

    # ---- settings, split sizes, architecture
    s.table(["setting", "value"], setting_rows,
            "How the model was trained: loss, optimizer with its parameters, schedule, length of training in epochs and "
            "optimizer steps, batch size, data preparation.", tag="settings")
    cols, srows = split_table({first["splits"][c][0]: first["splits"][c][1] for c in split_names}, classes)
    s.table(cols, srows, "Samples per class in each split.", tag="split-sizes")
    if model is not None or architecture is not None:
        if model is not None:
            acols, arows = describe_model(model, example_input)
            what, trainable = f"`{type(model).__name__}`", f" ({arows[-1][4]:,} trainable)"
        else:
            acols, arows = architecture
            what, trainable = "The network", ""
        total = arows[-1][acols.index("parameters")]
        if single:
            whose = ""
        elif same_architecture:
            whose = f"; every one of the {len(mem)} models has this architecture"
        else:
            whose = f"; shown for `{next(iter(mem))}`, the other models differ as the settings say"
        s.text(f"Architecture: {what} with **{total:,}** parameters{trainable} in {len(arows) - 1} layers{whose}.")
        s.table(acols, arows, "Layers in forward order with their parameter counts.", tag="architecture")
    return [s]
