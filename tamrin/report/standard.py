"""The report parts every course experiment needs, in one code path:

- `classification_sections(run, name, y_true, probs, classes, history)`: curves, confusion matrix,
  ROC, per-class table, macro-F1 and kappa, with the figures saved into the run folder;
- `describe_model(model)` / `architecture_section(model)`: layers and parameter counts;
- `describe_training(...)` / `split_table(...)` / `training_section(...)`: loss, optimizer and its
  parameters, epochs/steps, batch size, split sizes per class, preprocessing and augmentation —
  what a course report must state (issue #2, section 7).

Every number in the text is formatted from a value computed here, never typed in.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np

from tamrin.report import figures
from tamrin.report.metrics import _as_numpy, chance_notice, classification_metrics, metrics_table, summary_text
from tamrin.report.sections import Section

__all__ = [
    "evaluate_classification", "classification_sections", "describe_model", "architecture_section",
    "describe_training", "split_table", "training_section",
]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "eval"


def evaluate_classification(run, name: str, y_true, probs, classes: Sequence[str], history=None,
                            title: str | None = None, level: int = 1, roc_curve: bool = True,
                            label: str | None = None, confusion_matrix: bool = True) -> tuple[dict, list[Section]]:
    """Metrics + report sections for one evaluated split. Returns (metrics dict, sections).

    `name` is a short file-safe tag ("test", "val"); `title` the heading (default: "Results: <name>");
    `label` the words captions and figure titles use for the model and split (default: `name`), so that a
    reader sees "Compact VGG, GAP head, test" rather than an internal tag.
    Figures go to figures/<name>_{curves,confusion,roc}.png and the metrics to metrics_<name>.json.
    `confusion_matrix=False` when `tamrin.report.training_report` already shows this split's matrix.
    """
    slug = _slug(name)
    name = label or name  # from here on: the human name (the files keep the tag)
    probs = _as_numpy(probs)
    m = classification_metrics(y_true, None, probs, classes)
    run.write_json(f"metrics_{slug}.json", m)
    head = Section(title or f"Results: {name}", level=level)
    if chance_notice(m, title or name):  # the heading, not the file tag, names the model and split
        head.notice(chance_notice(m, title or name))
    head.text(summary_text(m, name))
    head.table(["metric", "value"], [["accuracy", m["accuracy"]], ["macro-F1", m["macro_f1"]], ["weighted-F1", m["weighted_f1"]],
                                      ["Cohen's kappa", m["kappa"]], ["ROC AUC (macro)", m["auc_macro"]], ["ROC AUC (micro)", m["auc_micro"]],
                                      ["samples", m["n"]]],
               f"Headline metrics on {name}. Macro-F1 weighs every class equally; kappa corrects accuracy for chance agreement.")
    for note in m["notes"]:
        head.notice(note)
    out = [head]
    sub = level + 1
    if history:
        p = run.save_figure(figures.curves(history), f"{slug}_curves")  # marks figures.best_epoch, fit's rule
        last = history[-1]
        s = Section("Training and validation curves", level=sub)
        if last.get("val_acc") is not None and last.get("train_acc") is not None:
            s.text(f"After epoch {last.get('epoch', len(history))}: train accuracy {last['train_acc']:.4f}, validation accuracy {last['val_acc']:.4f}.")
        s.figure(p, "Loss and accuracy per epoch, training (solid) vs validation (dashed).", base=run.path)
        out.append(s)
    if confusion_matrix:
        p = run.save_figure(figures.confusion(m["confusion"], list(classes), f"Confusion matrix ({name})"), f"{slug}_confusion")
        out.append(Section(f"Confusion matrix ({name})", level=sub).figure(
            p, "Rows: true class, columns: predicted class. Each cell: count and percentage of its row (recall on the diagonal).",
            width=figures.confusion_width(len(classes)), base=run.path))
    if roc_curve:
        p = run.save_figure(figures.roc(y_true, probs, list(classes), f"ROC curves, one-vs-rest ({name})"), f"{slug}_roc")
        out.append(Section(f"ROC curves ({name})", level=sub).figure(
            p, f"One-vs-rest ROC per class; micro-average AUC {m['auc_micro']:.4f}, macro-average AUC {m['auc_macro']:.4f}.",
            width=0.75, base=run.path))
    cols, rows = metrics_table(m, classes)
    out.append(Section(f"Per-class metrics ({name})", level=sub).table(cols, rows, f"Precision, recall, F1 and one-vs-rest ROC AUC per class on {name}."))
    return m, out


def classification_sections(run, name: str, y_true, probs, classes: Sequence[str], history=None, **kw) -> list[Section]:
    """`evaluate_classification` without the metrics dict (they are still saved as metrics_<name>.json)."""
    return evaluate_classification(run, name, y_true, probs, classes, history, **kw)[1]


# --------------------------------------------------------------------------------------- model
def describe_model(model, example_input=None) -> tuple[list[str], list[list]]:
    """(columns, rows) listing the leaf layers of a torch module: name, type, output shape (when an
    `example_input` batch is given — a tensor, or a tuple of forward arguments — one forward pass with
    hooks), parameters and trainable parameters. The last row is the total."""
    import torch

    shapes: dict[str, str] = {}
    if example_input is not None:
        hooks = []

        def hook(mod_name):
            def f(_m, _inp, out):
                if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
                    out = out[0]  # e.g. an LSTM returns (output, (h, c)): show the output
                if isinstance(out, torch.Tensor):
                    shapes[mod_name] = "×".join(str(d) for d in out.shape[1:]) or "scalar"
            return f

        for n, mod in model.named_modules():
            if n and not list(mod.children()):
                hooks.append(mod.register_forward_hook(hook(n)))
        was_training = model.training
        try:
            model.eval()
            with torch.no_grad():
                model(*example_input) if isinstance(example_input, tuple) else model(example_input)
        finally:
            model.train(was_training)
            for h in hooks:
                h.remove()

    rows = []
    for n, mod in model.named_modules():
        own = list(mod.parameters(recurse=False))
        # leaves, plus containers that own parameters directly (e.g. a learned positional embedding)
        if n and (not list(mod.children()) or own):
            params = sum(p.numel() for p in own)
            trainable = sum(p.numel() for p in own if p.requires_grad)
            extra = mod.extra_repr()
            rows.append([n, type(mod).__name__ + (f"({extra})" if extra and len(extra) <= 70 else ""),
                         shapes.get(n, ""), params, trainable])
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not rows:  # a bare module (e.g. nn.Linear itself)
        rows.append([type(model).__name__, type(model).__name__, "", total, trainable])
    rows.append(["total", type(model).__name__, "", total, trainable])
    cols = ["layer", "type", "output shape" if example_input is not None else "output", "parameters", "trainable"]
    return cols, rows


def architecture_section(model, example_input=None, title: str = "Architecture", level: int = 1, name: str = "") -> Section:
    """A section stating the architecture: parameter count in words, then the layer table."""
    cols, rows = describe_model(model, example_input)
    total, trainable = rows[-1][3], rows[-1][4]
    s = Section(title, level=level)
    what = f" ({name})" if name else ""
    s.text(f"Model{what}: `{type(model).__name__}` with **{total:,}** parameters, {trainable:,} of them trainable, "
           f"in {len(rows) - 1} layers.")
    first = example_input[0] if isinstance(example_input, tuple) else example_input
    shape_note = f" Output shapes for one input of shape {'×'.join(str(d) for d in first.shape[1:])} (batch dimension omitted)." if first is not None else ""
    s.table(cols, rows, "Leaf layers in forward order." + shape_note)
    return s


# ------------------------------------------------------------------------------------ training
def _describe_loss(loss_fn) -> str:
    if loss_fn is None:
        return "not stated"
    if isinstance(loss_fn, str):
        return loss_fn
    if not hasattr(loss_fn, "extra_repr"):  # a plain function such as F.cross_entropy
        return getattr(loss_fn, "__name__", type(loss_fn).__name__)
    # a torch loss module: its constructor options live in attributes, not in extra_repr()
    parts = [f"{k}={getattr(loss_fn, k)}" for k in ("reduction", "label_smoothing", "ignore_index", "beta", "margin")
             if getattr(loss_fn, k, None) is not None]
    if getattr(loss_fn, "weight", None) is not None:
        parts.append("per-class weights")
    extra = loss_fn.extra_repr()
    if extra:
        parts.append(extra)
    return type(loss_fn).__name__ + (f" ({', '.join(parts)})" if parts else "")


def _fmt_param(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(_fmt_param(x) for x in v) + ")"
    return str(v)


def _describe_optimizer(optimizer, params: Mapping | None) -> str:
    if optimizer is None:
        return "not stated"
    if hasattr(optimizer, "param_groups"):  # a torch optimizer: read its real hyperparameters
        name = type(optimizer).__name__
        g = optimizer.param_groups[0]
        # defaults that are None/False flags add noise; 'params' is the tensors themselves
        params = {k: v for k, v in g.items() if k != "params" and v is not None and v is not False and not k.startswith("initial_")}
        if len(optimizer.param_groups) > 1:
            params["param_groups"] = len(optimizer.param_groups)
    else:
        name = str(optimizer)
        params = dict(params or {})
    return name + (" (" + ", ".join(f"{k}={_fmt_param(v)}" for k, v in params.items()) + ")" if params else "")


def _describe_scheduler(sched) -> str:
    if sched is None or isinstance(sched, str):
        return sched or "none (constant learning rate)"
    state = {k: v for k, v in sched.state_dict().items() if not k.startswith("_") and isinstance(v, (int, float, str)) and k not in ("last_epoch", "verbose")}
    return type(sched).__name__ + (" (" + ", ".join(f"{k}={_fmt_param(v)}" for k, v in state.items()) + ")" if state else "")


def describe_training(loss_fn=None, optimizer=None, optimizer_params: Mapping | None = None, scheduler=None,
                      epochs: int | None = None, steps: int | None = None, batch_size: int | None = None,
                      splits: Mapping[str, Any] | None = None, preprocessing: str = "", augmentation: str = "",
                      extra: Mapping[str, Any] | None = None) -> tuple[list[str], list[list]]:
    """(columns, rows) stating how the model was trained.

    `loss_fn`: a torch loss module, a function or a description; `optimizer`: a torch optimizer
    (its real hyperparameters are read from it) or a name plus `optimizer_params`; `splits`:
    {"train": labels, "validation": labels, ...} (arrays of labels, or plain sizes).
    Empty preprocessing/augmentation are stated as "none" on purpose: saying nothing is not allowed.
    """
    rows = [["loss function", _describe_loss(loss_fn)],
            ["optimizer", _describe_optimizer(optimizer, optimizer_params)],
            ["learning-rate schedule", _describe_scheduler(scheduler)]]
    if epochs is not None:
        rows.append(["epochs", epochs])
    if steps is not None:
        rows.append(["optimisation steps", steps])
    rows.append(["batch size", batch_size if batch_size is not None else "not stated"])
    for split, v in (splits or {}).items():
        n = v if isinstance(v, (int, np.integer)) else len(_as_numpy(v))
        rows.append([f"{split} samples", int(n)])
    rows.append(["preprocessing", preprocessing or "none"])
    rows.append(["augmentation", augmentation or "none"])
    for k, v in (extra or {}).items():
        rows.append([str(k), v])
    return ["item", "value"], rows


def split_table(splits: Mapping[str, Any], classes: Sequence[str]) -> tuple[list[str], list[list]]:
    """(columns, rows): samples per class in each split, with totals; `splits` maps a split name to its labels."""
    names = list(splits)
    counts = {s: np.bincount(_as_numpy(y).astype(np.int64).ravel(), minlength=len(classes))[: len(classes)] for s, y in splits.items()}
    rows = [[c] + [int(counts[s][i]) for s in names] for i, c in enumerate(classes)]
    rows.append(["total"] + [int(counts[s].sum()) for s in names])
    return ["class"] + names, rows


def training_section(title: str = "Training set-up", level: int = 1, classes: Sequence[str] | None = None,
                     model=None, example_input=None, **kw) -> list[Section]:
    """Sections stating the training set-up (see `describe_training` for the keywords); with `classes`
    and label arrays in `splits` also the per-class split sizes, with `model` also the architecture."""
    s = Section(title, level=level)
    s.table(*describe_training(**kw), "Loss, optimizer with its parameters, schedule, length of training, batch size, data and its preparation.")
    splits = kw.get("splits") or {}
    labelled = {k: v for k, v in splits.items() if not isinstance(v, (int, np.integer))}
    if classes is not None and labelled:
        s.table(*split_table(labelled, classes), "Samples per class in each split (stratified, fixed seed).")
    out = [s]
    if model is not None:
        out.append(architecture_section(model, example_input, level=level + 1))
    return out
