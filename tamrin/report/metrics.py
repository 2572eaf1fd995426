"""Classification metrics for reports (scikit-learn does the arithmetic; this module makes it robust).

`classification_metrics` returns a plain, JSON-ready dict so a run can save it with `run.write_json`.
Labels are integers 0..K-1 and `classes[k]` names label k.

Why "robust": a quick run on a small validation split easily misses a class entirely. sklearn then
raises (ROC AUC) or warns (precision of a class that is never predicted). Here nothing crashes: an
undefined value is reported as nan and a human-readable note says why, so the report can show it.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from sklearn.metrics import (
    auc,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_curve,
)

from tamrin.errors import UserError

__all__ = ["classification_metrics", "metrics_table", "roc_curves", "summary_text", "chance_test", "chance_notice"]


def _as_numpy(a) -> np.ndarray:
    """Accept numpy arrays, lists and torch tensors (without importing torch)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _check(y_true, y_pred, probs, classes):
    y_true = _as_numpy(y_true).astype(np.int64).ravel()
    if y_true.size == 0:
        raise UserError("classification_metrics: y_true is empty")
    if probs is not None:
        probs = _as_numpy(probs).astype(np.float64)
        if probs.ndim != 2 or probs.shape[0] != y_true.size:
            raise UserError(f"classification_metrics: probs must have shape (N={y_true.size}, K), got {probs.shape}")
    if y_pred is None:
        if probs is None:
            raise UserError("classification_metrics: give y_pred or probs")
        y_pred = probs.argmax(axis=1)
    y_pred = _as_numpy(y_pred).astype(np.int64).ravel()
    if y_pred.size != y_true.size:
        raise UserError(f"classification_metrics: y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    if classes is None:
        k = probs.shape[1] if probs is not None else int(max(y_true.max(), y_pred.max())) + 1
        classes = [str(i) for i in range(k)]
    classes = [str(c) for c in classes]
    k = len(classes)
    if probs is not None and probs.shape[1] != k:
        raise UserError(f"classification_metrics: probs has {probs.shape[1]} columns but there are {k} classes")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.min() < 0 or y.max() >= k:
            raise UserError(f"classification_metrics: {name} has labels outside 0..{k - 1} (classes: {', '.join(classes)})")
    return y_true, y_pred, probs, classes


def roc_curves(y_true, probs, classes: Sequence[str] | None = None) -> dict:
    """One-vs-rest ROC curves: {"per_class": {name: {fpr, tpr, auc}}, "micro": {...}, "macro": {...}, "notes": [...]}.

    A class with no positive (or no negative) sample in y_true has no ROC curve: fpr/tpr are empty
    and its AUC is nan. Micro average: all (sample, class) decisions pooled into one binary problem.
    Macro average: the curve is the per-class TPRs averaged on a common FPR grid; its AUC is the mean
    of the per-class AUCs (what `roc_auc_score(..., multi_class="ovr", average="macro")` reports).
    """
    y_true = _as_numpy(y_true).astype(np.int64).ravel()
    probs = _as_numpy(probs).astype(np.float64)
    k = probs.shape[1]
    classes = [str(c) for c in classes] if classes is not None else [str(i) for i in range(k)]
    onehot = np.eye(k, dtype=np.int64)[y_true]
    per_class, notes = {}, []
    for c in range(k):
        pos = int(onehot[:, c].sum())
        if pos == 0 or pos == y_true.size:
            why = "no samples of it" if pos == 0 else "only samples of it"
            notes.append(f"ROC AUC of class {classes[c]} is undefined (nan): the evaluated set has {why}.")
            per_class[classes[c]] = {"fpr": [], "tpr": [], "auc": float("nan")}
            continue
        fpr, tpr, _ = roc_curve(onehot[:, c], probs[:, c])
        per_class[classes[c]] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(auc(fpr, tpr))}

    flat_true = onehot.ravel()
    if 0 < flat_true.sum() < flat_true.size:  # needs at least 2 classes
        fpr, tpr, _ = roc_curve(flat_true, probs.ravel())
        micro = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(auc(fpr, tpr))}
    else:
        micro = {"fpr": [], "tpr": [], "auc": float("nan")}

    defined = [v for v in per_class.values() if v["fpr"]]
    if defined:
        grid = np.unique(np.concatenate([v["fpr"] for v in defined]))
        mean_tpr = np.mean([np.interp(grid, v["fpr"], v["tpr"]) for v in defined], axis=0)
        macro = {"fpr": grid.tolist(), "tpr": mean_tpr.tolist(), "auc": float(np.mean([v["auc"] for v in defined]))}
        if len(defined) < k:
            notes.append(f"Macro-average AUC is the mean over the {len(defined)} of {k} classes whose AUC is defined.")
    else:
        macro = {"fpr": [], "tpr": [], "auc": float("nan")}
    return {"per_class": per_class, "micro": micro, "macro": macro, "notes": notes}


def classification_metrics(y_true, y_pred=None, probs=None, classes: Sequence[str] | None = None) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted F1, Cohen's kappa, the
    confusion matrix (rows = true class, columns = predicted) and, with `probs` (N, K) scores,
    one-vs-rest ROC AUC per class plus micro and macro averages.

    `y_pred` may be None when `probs` is given (argmax). Every value is a plain Python number or list.
    """
    y_true, y_pred, probs, classes = _check(y_true, y_pred, probs, classes)
    k = len(classes)
    labels = list(range(k))
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero divisions are reported through `notes` instead
        p, r, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        kappa = float(cohen_kappa_score(y_true, y_pred, labels=labels))
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    absent = [classes[c] for c in labels if support[c] == 0]
    never = [classes[c] for c in labels if cm[:, c].sum() == 0]
    if absent:
        notes.append(f"Classes absent from the evaluated labels (recall and F1 set to 0): {', '.join(absent)}.")
    if never:
        notes.append(f"Classes never predicted (precision set to 0): {', '.join(never)}.")
    if kappa != kappa:
        notes.append("Cohen's kappa is undefined (nan): chance agreement is 1 (a single class in labels and predictions).")
    per_class = [
        {"class": classes[c], "precision": float(p[c]), "recall": float(r[c]), "f1": float(f1[c]), "support": int(support[c])}
        for c in labels
    ]
    n = int(y_true.size)
    present = support > 0
    out = {
        "n": n,
        "classes": list(classes),
        "accuracy": float((y_true == y_pred).mean()),
        # macro over ALL classes (sklearn's default with labels=...); an absent class counts as F1 = 0
        "macro_f1": float(f1.mean()),
        "macro_f1_present": float(f1[present].mean()),
        "weighted_f1": float((f1 * support).sum() / n),
        "kappa": kappa,
        "per_class": per_class,
        "confusion": cm.astype(int).tolist(),
        "notes": notes,
        "chance": chance_test(y_true, y_pred),
    }
    if probs is not None:
        roc = roc_curves(y_true, probs, classes)
        out["auc"] = {name: v["auc"] for name, v in roc["per_class"].items()}
        out["auc_micro"] = roc["micro"]["auc"]
        out["auc_macro"] = roc["macro"]["auc"]
        notes.extend(roc["notes"])
    return out


CHANCE_ALPHA = 0.01


def chance_test(y_true, y_pred, alpha: float = CHANCE_ALPHA) -> dict:
    """Is the accuracy significantly above chance? One-sided binomial test of the number of correct predictions
    against the majority-class rate (what always predicting the most frequent true class scores; for balanced
    classes 1/K). `at_chance` when p ≥ alpha: such a classifier's numbers must not be interpreted."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = int(y_true.size)
    if n == 0:
        return {"majority_rate": float("nan"), "p_value": 1.0, "at_chance": True, "n": 0, "correct": 0}
    return chance_from_counts(int((y_true == y_pred).sum()), n, float(np.bincount(y_true).max() / n), alpha)


def chance_from_counts(correct: int, n: int, majority_rate: float, alpha: float = CHANCE_ALPHA) -> dict:
    """`chance_test` from the number of correct predictions (for code that keeps accuracies, not predictions)."""
    from scipy.stats import binomtest

    correct, n = int(correct), int(n)
    p = 1.0 if n == 0 or majority_rate >= 1 else float(binomtest(correct, n, majority_rate, alternative="greater").pvalue)
    return {"majority_rate": float(majority_rate), "p_value": p, "at_chance": bool(p >= alpha), "n": n, "correct": correct}


def chance_notice(m: dict, label: str = "") -> str:
    """The notice that replaces the interpretation of a classifier at chance level ('' when it is above chance)."""
    c = m.get("chance") or {}
    if not c.get("at_chance"):
        return ""
    where = f" on {label}" if label else ""
    return (f"At chance level{where}: accuracy {m['accuracy']:.1%} ({c['correct']:,} of {c['n']:,}) is not significantly above "
            f"the majority-class rate {c['majority_rate']:.1%} (one-sided binomial test, p = {c['p_value']:.2g} ≥ {CHANCE_ALPHA:g}). "
            "This classifier has not learned yet; its numbers are shown but not interpreted.")


def metrics_table(m: dict, classes: Sequence[str] | None = None) -> tuple[list[str], list[list]]:
    """Per-class table (precision, recall, F1, support, AUC when available) plus macro/weighted rows,
    ready for `Section.table(*metrics_table(m))`."""
    classes = list(classes) if classes is not None else m["classes"]
    has_auc = "auc" in m
    cols = ["class", "precision", "recall", "F1", "support"] + (["ROC AUC"] if has_auc else [])
    rows = []
    for name, pc in zip(classes, m["per_class"]):
        row = [name, pc["precision"], pc["recall"], pc["f1"], pc["support"]]
        if has_auc:
            row.append(m["auc"][pc["class"]])
        rows.append(row)
    pcs = m["per_class"]
    n = m["n"]
    macro = ["macro avg", float(np.mean([c["precision"] for c in pcs])), float(np.mean([c["recall"] for c in pcs])), m["macro_f1"], n]
    weighted = ["weighted avg"] + [float(sum(c[key] * c["support"] for c in pcs) / n) for key in ("precision", "recall")] + [m["weighted_f1"], n]
    if has_auc:
        macro.append(m["auc_macro"])
        weighted.append("")
    rows += [macro, weighted]
    if has_auc:
        rows.append(["micro avg (ROC)", "", "", "", n, m["auc_micro"]])
    return cols, rows


def summary_text(m: dict, label: str = "") -> str:
    """One sentence with the headline numbers, every one formatted from `m` (states them, interprets nothing)."""
    where = f" on {label}" if label else ""
    f4 = lambda v: "undefined" if v != v else f"{v:.4f}"  # noqa: E731  (a report never prints "nan")
    s = (f"Accuracy{where}: **{m['accuracy']:.4f}** ({round(m['accuracy'] * m['n']):,} of {m['n']:,} correct); "
         f"macro-F1 {m['macro_f1']:.4f}; weighted-F1 {m['weighted_f1']:.4f}; Cohen's kappa {f4(m['kappa'])}")
    if "auc_macro" in m:
        s += f"; ROC AUC macro {f4(m['auc_macro'])}, micro {f4(m['auc_micro'])}"
    return s + "."
