"""fer, parts (c)/(d): measuring the models side by side and the improvement tried after the analysis."""
from __future__ import annotations

import numpy as np
import torch

from tamrin.models import count_params
from tamrin.models.export import torch_latency_ms
from tamrin.models.measure import state_dict_mb
from tamrin.report import Section
from tamrin.report.metrics import classification_metrics
from tamrin.train import predict

__all__ = ["softmax_probs", "flip_tta_probs", "measure", "comparison_section", "top_confusions", "improvement_section"]


def softmax_probs(model, x: torch.Tensor) -> np.ndarray:
    return torch.softmax(predict(model, x), 1).numpy()


def flip_tta_probs(model, x: torch.Tensor) -> np.ndarray:
    """Mean of the probabilities for each image and its left-right mirror (test-time augmentation)."""
    return 0.5 * (softmax_probs(model, x) + softmax_probs(model, x.flip(3)))


def measure(model, example: torch.Tensor, repeats: int = 20) -> dict:
    """Parameters, float32 size on disk (MB) and median CPU latency for one image (1 thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ms = torch_latency_ms(model, example[:1], repeats=repeats, warmup=3)
    finally:
        torch.set_num_threads(threads)
    return {"params": count_params(model), "mb": state_dict_mb(model), "latency_ms": ms,
            "input": "×".join(str(v) for v in example.shape[1:])}


def comparison_section(rows: list[dict], anchors: str, majority: float = float("nan")) -> Section:
    """`majority`: validation accuracy of always predicting the most frequent class (the floor to beat)."""
    s = Section("Comparison of the models")
    best = max(rows, key=lambda r: r["acc"])
    small = min(rows, key=lambda r: r["params"])
    big = max(rows, key=lambda r: r["params"])
    s.table(["model", "input", "parameters", "size (MB)", "CPU latency (ms, 1 image, 1 thread)", "training time (s)",
             "val accuracy", "val macro-F1", "Cohen's kappa", "ROC AUC (macro)"],
            [[r["name"], r["input"], r["params"], r["mb"], r["latency_ms"], r["seconds"], r["acc"], r["macro_f1"], r["kappa"],
              r["auc"]] for r in rows],
            "All numbers measured in this run on the validation split; latency is the median of 20 forward passes.")
    if all(r.get("at_chance") for r in rows):
        s.notice(f"Every model is at chance level on validation (best {best['acc']:.1%}, majority-class rate {majority:.1%}; "
                 "binomial test): the numbers above are shown but not compared or interpreted.")
        s.text(anchors)
        return s
    txt = (f"The best validation accuracy is {best['acc']:.1%} ({best['name']}, macro-F1 {best['macro_f1']:.3f}). "
           f"{small['name']} has the fewest parameters ({small['params']:,}, {small['mb']:.2f} MB, {small['latency_ms']:.2f} ms per image) "
           f"and {big['name']} the most ({big['params']:,}, {big['mb']:.1f} MB, {big['latency_ms']:.2f} ms): "
           f"{big['params'] / small['params']:.1f}x the parameters for "
           f"{100 * (big['acc'] - small['acc']):+.1f} points of accuracy.")
    if majority == majority:
        txt += (f" For scale: always predicting the most frequent validation class scores {majority:.1%}"
                + ("; the best model is not clearly above that floor, so it has barely started to learn (too few epochs "
                   "for its regularisation)." if best["acc"] < majority + 0.05 else "."))
    s.text(txt)
    s.text(anchors)
    return s


def top_confusions(cm: np.ndarray, classes, n: int = 3) -> list[tuple[str, str, int, float]]:
    """The n largest off-diagonal cells: (true, predicted, count, share of the true class)."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:n]
    out = []
    for flat in order:
        i, j = divmod(int(flat), cm.shape[1])
        if off[i, j] > 0:
            out.append((str(classes[i]), str(classes[j]), int(off[i, j]), off[i, j] / max(1, cm[i].sum())))
    return out


def recall_change_text(rec_b: np.ndarray, rec_a: np.ndarray, classes) -> str:
    """Which class's recall rose most — or that none rose (a tie at 0 % -> 0 % is no improvement)."""
    gain = rec_a - rec_b
    up = np.flatnonzero(gain == gain.max()) if gain.size and gain.max() > 0 else []
    if not len(up):
        return "No class's recall goes up."
    names = ", ".join(f"{classes[k]} ({rec_b[k]:.1%} -> {rec_a[k]:.1%})" for k in up)
    return f"The class{'es' if len(up) > 1 else ''} whose recall rises most: {names}."


def improvement_section(name: str, y: np.ndarray, base_probs: np.ndarray, new_probs: np.ndarray, classes,
                        why: str, what: str) -> tuple[Section, dict]:
    """Before/after table and text for the improvement tried, on the validation split."""
    before = classification_metrics(y, None, base_probs, classes)
    after = classification_metrics(y, None, new_probs, classes)
    s = Section("An improvement, tried and measured")
    if before["chance"]["at_chance"] and after["chance"]["at_chance"]:
        s.notice(f"{name} is at chance level on validation before and after {what}: a change between two chance-level "
                 "classifiers measures noise, so it is not interpreted.")
        return s, {"before": before, "after": after}
    s.text(why)
    rows = [[m, before[k], after[k], after[k] - before[k]] for m, k in
            (("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("Cohen's kappa", "kappa"), ("ROC AUC (macro)", "auc_macro"))]
    s.table(["metric (validation)", f"{name}", f"{name} + {what}", "change"], rows, "Before and after, same model and split.")
    rec_b = np.asarray([c["recall"] for c in before["per_class"]])
    rec_a = np.asarray([c["recall"] for c in after["per_class"]])
    s.text(f"Measured: {what} changes validation accuracy by {100 * (after['accuracy'] - before['accuracy']):+.2f} points "
           f"and macro-F1 by {after['macro_f1'] - before['macro_f1']:+.4f}, so on this run it "
           f"{'helps' if after['macro_f1'] > before['macro_f1'] else 'does not help'}. " + recall_change_text(rec_b, rec_a, classes))
    return s, {"before": before, "after": after}
