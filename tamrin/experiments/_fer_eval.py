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


SPLIT_NAMES = {"train": "training", "validation": "validation", "test": "test"}


def comparison_section(rows: list[dict], anchors: str, majority: float = float("nan"), reference: tuple | None = None) -> Section:
    """rows: one per trained model, with "splits": split -> metrics (validation, and test when present).
    `majority`: validation accuracy of always predicting the most frequent class (the floor to beat).
    `reference`: (name, network label, parameters) of the assignment's VGG16, listed but not trained."""
    s = Section("Comparison of the models")
    splits = [sp for sp in ("validation", "test") if all(sp in r["splits"] for r in rows)]
    size_rows = [[r["name"], r["network"], r["params"], r["mb"], r["latency_ms"], r["seconds"]] for r in rows]
    if reference is not None:  # float32 weights: 4 bytes per parameter
        size_rows.append([reference[0], reference[1], reference[2], reference[2] * 4 / 1e6, "not measured", "not trained"])
    s.table(["model", "network counted", "parameters", "size (MB)", "CPU latency (ms, 1 image, 1 thread)", "training time (s)"],
            size_rows, "Size and speed of each network, counted on the model object itself; latency is the median of 20 "
            "forward passes." + (" The last row is the network the assignment names, built for its setting but not trained." if reference else ""))
    s.table(["model", "split", "accuracy", "macro-F1", "Cohen's kappa", "ROC AUC (macro)"],
            [[r["name"], SPLIT_NAMES[sp], r["splits"][sp]["accuracy"], r["splits"][sp]["macro_f1"], r["splits"][sp]["kappa"],
              r["splits"][sp]["auc_macro"]] for r in rows for sp in splits],
            f"Headline metrics of every model on {' and '.join(SPLIT_NAMES[sp] for sp in splits)}, measured in this run.")
    best = max(rows, key=lambda r: r["acc"])
    if all(r.get("at_chance") for r in rows):
        s.notice(f"Every model is at chance level on validation (best {best['acc']:.1%}, majority-class rate {majority:.1%}; "
                 "binomial test): the numbers above are shown but not compared or interpreted.")
        s.text(size_text(rows, reference))
        s.text(anchors)
        return s
    txt = f"The best validation accuracy is {best['acc']:.1%} ({best['name']}, macro-F1 {best['macro_f1']:.3f})."
    if "test" in splits:
        bt = max(rows, key=lambda r: r["splits"]["test"]["accuracy"])
        txt += (f" On the test split the best is {bt['splits']['test']['accuracy']:.1%} ("
                + ("the same model" if bt is best else f"{bt['name']}, not the validation winner")
                + f"); {best['name']} scores {best['splits']['test']['accuracy']:.1%} there.")
    txt += " " + size_text(rows, reference)
    if majority == majority:
        txt += (f" For scale: always predicting the most frequent validation class scores {majority:.1%}"
                + ("; the best model is not clearly above that floor, so it has barely started to learn (too few epochs "
                   "for its regularisation)." if best["acc"] < majority + 0.05 else "."))
    s.text(txt)
    s.text(anchors)
    return s


def size_text(rows: list[dict], reference: tuple | None) -> str:
    """Most/fewest parameters, from the counts (ties named together); the assignment's VGG16 beside them."""
    lo, hi = min(r["params"] for r in rows), max(r["params"] for r in rows)
    small = [r for r in rows if r["params"] == lo]
    big = [r for r in rows if r["params"] == hi]
    names = lambda rs: " and ".join(r["name"] for r in rs)  # noqa: E731
    if lo == hi:
        txt = f"The networks trained here all have {lo:,} parameters."
    else:
        a, b = small[0], big[0]
        txt = (f"Of the networks trained here, {names(small)} has the fewest parameters ({lo:,}, {a['mb']:.2f} MB, "
               f"{a['latency_ms']:.2f} ms per image) and {names(big)} the most ({hi:,}, {b['mb']:.2f} MB, {b['latency_ms']:.2f} ms): "
               f"{hi / lo:.1f}x the parameters for {100 * (b['acc'] - a['acc']):+.1f} points of validation accuracy.")
    if reference is not None:
        txt += (f" The real VGG16 the assignment names ({reference[1].split(', ', 1)[1]}) would have {reference[2]:,} parameters, "
                f"{reference[2] / hi:,.0f}x the largest network trained here.")
    return txt


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


def improvement_section(name: str, splits: dict, classes, why: str, what: str,
                        title: str = "An improvement, tried and measured") -> tuple[Section, dict]:
    """Before/after table and text for one test-time change of one model, on every split given:
    splits = {split: (y, probs before, probs after)} (validation, and test when present)."""
    res = {sp: {"before": classification_metrics(y, None, b, classes), "after": classification_metrics(y, None, a, classes)}
           for sp, (y, b, a) in splits.items()}
    s = Section(title)
    v = res["validation"]
    at_chance = v["before"]["chance"]["at_chance"] and v["after"]["chance"]["at_chance"]
    if at_chance:  # measured and shown, but not interpreted
        s.notice(f"{name} is at chance level on validation before and after {what}: a change between two chance-level "
                 "classifiers measures noise, so the numbers below are shown but not interpreted.")
    s.text(why)
    rows = [[SPLIT_NAMES[sp], m, r["before"][k], r["after"][k], r["after"][k] - r["before"][k]] for sp, r in res.items()
            for m, k in (("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("Cohen's kappa", "kappa"), ("ROC AUC (macro)", "auc_macro"))]
    s.table(["split", "metric", f"{name}", f"{name} + {what}", "change"], rows,
            f"Before and after {what}: same trained model, same images, on {' and '.join(SPLIT_NAMES[sp] for sp in res)}.")
    for sp, r in ({} if at_chance else res).items():
        b, a = r["before"], r["after"]
        rec_b = np.asarray([c["recall"] for c in b["per_class"]])
        rec_a = np.asarray([c["recall"] for c in a["per_class"]])
        verdict = "helps" if a["macro_f1"] > b["macro_f1"] else ("changes nothing" if a["macro_f1"] == b["macro_f1"] else "does not help")
        s.text(f"Measured on {SPLIT_NAMES[sp]} ({len(splits[sp][0]):,} images): {what} changes accuracy by "
               f"{100 * (a['accuracy'] - b['accuracy']):+.2f} points and macro-F1 by {a['macro_f1'] - b['macro_f1']:+.4f}, so "
               f"there it {verdict}. " + recall_change_text(rec_b, rec_a, classes))
    return s, res
