"""cnn-cifar10's report: summary, data and recipes, comparison, accuracy vs time, test split, sweeps, costs."""
from __future__ import annotations

import numpy as np
import torch

from tamrin.data.augment import CIFAR10_MEAN, CIFAR10_STD
from tamrin.experiments.cnn_cifar10 import figures as cf
from tamrin.experiments.cnn_cifar10.training import describe_augmentation, recipe_for
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.report.metrics import chance_from_counts, metrics_table
from tamrin.report.standard import split_table
from tamrin.report.training_report import training_report


def _f(v, fmt):
    return "—" if v is None else format(v, fmt)


def _pct(v):
    return "—" if v is None else f"{v:.2%}"


def recipe_settings(cfg, name: str) -> dict:
    """The parts of a model's recipe the standard settings table words itself, read from its TrainConfig."""
    tc = recipe_for(cfg, name)
    opt = f"{tc.optimizer} (lr {tc.lr:g}" + (f", momentum {tc.momentum:g}" + (", Nesterov" if tc.nesterov else "")
                                            if tc.optimizer in ("sgd", "rmsprop") else "") + f", weight decay {tc.weight_decay:g}"
    opt += (f"; biases and norm parameters at {tc.bias_lr_scale:g}x the rate and 1/{tc.bias_lr_scale:g} the decay)"
            if tc.bias_lr_scale != 1 else ")")
    warm = f", warm-up {tc.warmup_epochs:g} epoch(s) (at most a quarter of the run)" if tc.warmup_epochs else ""
    return {"optimizer": opt, "learning-rate schedule": f"{tc.schedule} per step{warm}",
            "weight averaging": "lookahead with an EMA of the weights, ending on the average" if tc.lookahead else "none",
            "precision": ("bf16 autocast" if tc.amp else "float32") + (", channels_last" if tc.channels_last else "")}


def summary_section(cfg, train, val, test, rows, tds) -> Section:
    best = max(rows, key=lambda r: r["val_acc"])
    n_val = len(val[1])
    s = Section("Summary")
    if best["at_chance"]:
        s.notice(f"At chance level: the best validation accuracy, {best['val_acc']:.2%} on {n_val:,} images, is not "
                 f"significantly above the majority-class rate (binomial test); no model has learned yet, so "
                 "the differences below are noise and are not interpreted. Train longer (the full or cpu preset) for results.")
    recipes = sorted({"airbench" if r["model"] == "fast_cnn" else "shared" for r in rows})
    how = "with the same recipe" if len(recipes) == 1 else "(the fast CNN with its own airbench recipe, the others with one shared recipe)"
    s.text(f"{len(rows)} network{'s' if len(rows) != 1 else ''} trained {how} on {len(train[1]):,} CIFAR-10 images and validated on "
           f"{n_val:,} held-out images. The best validation accuracy is {best['val_acc']:.2%} ({best['model']}, "
           f"{best['macs'] / 1e6:.1f}M multiply-adds, {best['params'] / 1e6:.2f}M parameters, {best['train_s']:.0f} s of training).")
    left = left_out_text(cfg)
    if left:
        s.text(left)
    if test is None:
        s.text("No CIFAR-10 test split was found, so every accuracy here is validation accuracy (model selection "
               "and reporting on the same held-out 10%; expect it to be slightly optimistic). " + _how_to_test())
    else:
        bt = max(rows, key=lambda r: r["val_acc"])
        s.text(f"Test split: {len(test[1]):,} images ({tds.source}). The model chosen on validation, {bt['model']}, scores "
               f"{bt['test_acc']:.2%} test accuracy (macro-F1 {bt['test_macro_f1']:.4f}); its validation accuracy with the same "
               f"test-time augmentation was {_pct(bt.get('val_tta_acc'))}.")
    return s


def _how_to_test() -> str:
    return ("To evaluate a test split, put it beside the training data (test/<class>/ folders or the official test_batch) "
            "or set test_dir.")


def data_section(cfg, run, ds, train, val, test, tds, rows) -> Section:
    s = Section("Data and recipe")
    s.text(f"Source: {ds.source}. A stratified {cfg.val_fraction:.0%} of the training split (seed {cfg.seed}) is the "
           f"validation set. Pixels are scaled to [0, 1] and normalised per channel with the CIFAR-10 training-set mean "
           f"{', '.join(f'{m:.4f}' for m in CIFAR10_MEAN)} and std {', '.join(f'{v:.4f}' for v in CIFAR10_STD)} (not the "
           f"0.2023, 0.1994, 0.2010 std copied across many scripts).")
    splits = {"train": train[1].numpy(), "validation": val[1].numpy()}
    if test is not None:
        splits["test"] = test[1].numpy()
    s.table(*split_table(splits, ds.classes), "Images per class in each split.")
    s.text("The training settings of each recipe are in the training reports below (fast_cnn's own; one shared by the "
           "compared models).")
    per = [np.flatnonzero(ds.labels == c)[:3] for c in range(len(ds.classes))]  # a column per class
    pick = np.array([p[i] for i in range(3) for p in per if i < len(p)], dtype=int)
    grid = figs.image_grid(ds.images[pick], [ds.classes[int(i)] for i in ds.labels[pick]], ncols=min(10, len(ds.classes)))
    s.figure(run.save_figure(grid, "samples"), "Training images with their labels, up to three per class.", width=0.8, base=run.path)
    return s


def comparison_section(cfg, run, rows, test) -> Section:
    threads = torch.get_num_threads()
    comp = Section("Model comparison")
    cols = ["model", "params (M)", "mult-adds (M)", "size (MB)", "PyTorch ms b1", "PyTorch ms b64", "ONNX ms b1",
            "ONNX ms b64", "train s", "steps", "val acc", "val acc TTA"] + (["test acc", "test macro-F1"] if test is not None else [])
    table = [[r["model"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.1f}", f"{r['size_mb']:.2f}",
              f"{r['torch_ms_b1']:.2f}", f"{r['torch_ms_b64']:.1f}", _f(r.get("onnx_ms_b1"), ".2f"), _f(r.get("onnx_ms_b64"), ".1f"),
              f"{r['train_s']:.0f}", r["steps"], f"{r['val_acc']:.4f}", _f(r.get("val_tta_acc"), ".4f")]
             + ([f"{r['test_acc']:.4f}", f"{r['test_macro_f1']:.4f}"] if test is not None else []) for r in rows]
    comp.table(cols, table, f"32x32 inputs; fast_cnn at width {cfg.fast_width}, the others at {cfg.width}. Latency: median of "
                            f"{cfg.latency_repeats} CPU forward passes (batch 64: {max(3, cfg.latency_repeats // 4)}) with {threads} "
                            f"thread(s), eval mode; size = saved float32 state_dict; val acc = the kept epoch, TTA = with test-time augmentation.")
    v1, conv = next((r for r in rows if r["model"] == "mobilenet_v1"), None), next((r for r in rows if r["model"] == "conv_mobilenet"), None)
    if v1 and conv and not (v1["at_chance"] or conv["at_chance"]):
        comp.text(f"Conv-MobileNet has {conv['params'] / v1['params']:.1f}x the parameters and {conv['macs'] / v1['macs']:.1f}x the "
                  f"multiply-adds of MobileNetV1 but is only {conv['torch_ms_b64'] / v1['torch_ms_b64']:.1f}x slower at batch 64 on this CPU; "
                  f"its validation accuracy differs by {conv['val_acc'] - v1['val_acc']:+.2%}.")
    comp.text(time_text(rows))
    comp.figure(run.save_figure(cf.accuracy_vs_time({r["model"]: r["history"] for r in rows}), "accuracy_vs_time"),
                "Validation accuracy against wall-clock seconds of training (validation passes included), one curve per "
                "model; each point is the end of an epoch.", base=run.path)
    if cfg.onnx:
        worst = max(r["onnx_max_diff"] for r in rows)
        comp.text(f"Every trained model was exported to ONNX (folder onnx/ of this run). On validation images the largest "
                  f"|PyTorch - ONNX Runtime| logit difference over all models is {worst:.2e}"
                  + (" (within the 1e-4 tolerance)." if worst <= 1e-4 else " — ABOVE the 1e-4 tolerance."))
        if worst > 1e-4:
            run.notice(f"ONNX outputs differ from PyTorch by {worst:.2e} (> 1e-4)")
    return comp


def time_text(rows) -> str:
    """Which model is most accurate per second of training, from the measured histories."""
    live = [r for r in rows if not r["at_chance"]]
    if len(live) < 2:
        return "Fewer than two models are above chance, so accuracy per training time is not compared."
    best = max(live, key=lambda r: r["val_acc"])
    fastest = min(live, key=lambda r: r["train_s"])
    text = (f"{best['model']} reached the best validation accuracy ({best['val_acc']:.2%}) in {best['train_s']:.0f} s; ")
    if fastest is best:
        return text + "it was also the quickest to train."
    return text + (f"the quickest training was {fastest['model']} ({fastest['train_s']:.0f} s, {fastest['val_acc']:.2%}).")


def test_section(cfg, run, rows, test_metrics, classes) -> Section:
    s = Section("Test split")
    best = max(rows, key=lambda r: r["val_acc"])
    s.text(f"Every model was evaluated once on the test split after training (selection used validation only); the "
           f"test confusion matrices are in the training reports below. Per-class scores of {best['model']}, the model "
           f"chosen on validation:")
    cols, trows = metrics_table(test_metrics[best["model"]], classes)
    s.table(cols, trows, f"Per-class precision, recall and F1 of {best['model']} on the test split.")
    return s


def standard_reports(cfg, run, rows, preds, classes, n_train_shown: int, models) -> list[Section]:
    """The course's standard training report: fast_cnn on its own (its own recipe), the other models as small
    multiples under their shared recipe. Train-split confusion matrices use a fixed subset of training images."""
    out = []
    groups = [("fast_cnn", [r for r in rows if r["model"] == "fast_cnn"]),
              ("compared models", [r for r in rows if r["model"] != "fast_cnn"])]
    for label, grp in groups:
        if not grp:
            continue
        tc = recipe_for(cfg, grp[0]["model"])
        steps = ", ".join(f"{r['model']} {r['steps']:,}" for r in grp) if len(grp) > 1 else grp[0]["steps"]
        epochs = ", ".join(f"{r['model']} {r['epochs']}" for r in grp) if len(grp) > 1 else grp[0]["epochs"]
        settings = {
            "loss function": f"cross-entropy, label smoothing {tc.label_smoothing:g}",
            **recipe_settings(cfg, grp[0]["model"]),
            "epochs": epochs, "optimizer steps": steps,
            "length": (f"planned from a {tc.budget_s:g} s wall-clock budget per model" if tc.budget_s else f"{tc.epochs} epochs"),
            "batch size": tc.batch_size,
            "preprocessing": "pixels to [0, 1], per-channel normalisation with the CIFAR-10 training mean and std",
            "augmentation": describe_augmentation(cfg, grp[0]["model"]),
            "evaluation": (f"validation and test with test-time augmentation level {cfg.tta}; train confusion on "
                           f"{n_train_shown:,} fixed training images, without test-time augmentation"),
            "model selection": "the epoch with the highest validation accuracy (first one on ties)",
        }
        if len(grp) == 1:
            r = grp[0]
            out += training_report(run, r["model"], classes=classes, settings=settings, history=r["history"],
                                   best_epoch=r["best_epoch"], splits=preds[r["model"]], model=models[r["model"]],
                                   example_input=torch.zeros(2, 3, 32, 32), title=f"Training report: {r['model']}")
        else:
            members = {r["model"]: {"history": r["history"], "best_epoch": r["best_epoch"], "splits": preds[r["model"]]}
                       for r in grp}
            out += training_report(run, "compared", classes=classes, settings=settings, members=members,
                                   model=models[grp[0]["model"]], example_input=torch.zeros(2, 3, 32, 32),
                                   same_architecture=False, title="Training report: the compared models")
    return out


def sweep_section(cfg, run, width_rows, size_rows, rows) -> Section:
    sweep = Section("Width and resolution multipliers")
    srows = [[f"alpha={r['width']}", r["size"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.2f}", f"{r['train_s']:.0f}", f"{r['val_acc']:.4f}"] for r in width_rows]
    srows += [[f"rho={r['size'] / 32:.3f}", r["size"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.2f}", f"{r['train_s']:.0f}", f"{r['val_acc']:.4f}"] for r in size_rows]
    budget = f" Every sweep training had a {cfg.sweep_budget_s:g} s budget." if cfg.sweep_budget_s else ""
    sweep.table(["setting", "input", "params (M)", "mult-adds (M)", "train s", "val acc"], srows,
                f"{cfg.sweep_model}: width sweep at 32x32, resolution sweep (images resized) at width {cfg.width}.{budget}")
    pts = {"width alpha": [(r["macs"], r["val_acc"], f"a={r['width']}") for r in width_rows],
           "resolution rho": [(r["macs"], r["val_acc"], f"{r['size']}px") for r in size_rows],
           "models": [(r["macs"], r["val_acc"], r["model"]) for r in rows]}
    sweep.figure(run.save_figure(cf.accuracy_vs_macs(pts, f"{cfg.sweep_model} on CIFAR-10"), "accuracy_vs_macs"),
                 "Validation accuracy against multiply-adds: width multiplier, resolution multiplier and the compared models.", base=run.path)
    if len(width_rows) > 1:
        a0, a1 = width_rows[0], width_rows[-1]
        sweep.text(f"Going from alpha={a0['width']} to alpha={a1['width']} divides the multiply-adds by "
                   f"{a0['macs'] / a1['macs']:.1f} (theory about (alpha ratio)^2 = {(a0['width'] / a1['width']) ** 2:.1f}) and the "
                   f"parameters by {a0['params'] / a1['params']:.1f}; "
                   + ("both are at chance level, so their accuracies are not compared." if a0["at_chance"] and a1["at_chance"] else
                      f"validation accuracy changes by {a1['val_acc'] - a0['val_acc']:+.2%}."))
    for label, sweep_rows in (("width", width_rows), ("resolution", size_rows)):
        if text := budget_reading(cfg.sweep_budget_s, label, sweep_rows):
            sweep.text(text)
    return sweep


def budget_reading(budget_s: float, label: str, sweep_rows) -> str:
    """How to read a sweep whose trainings shared one wall-clock budget: the cheaper settings ran more epochs.

    A width or resolution sweep on a budget answers "what is most accurate in B seconds", not "what can a network of
    this size learn": the sentence says which question the numbers answer, with the epochs each setting got."""
    live = [r for r in sweep_rows if not r["at_chance"]]
    if not budget_s or len(live) < 2:
        return ""
    name = (lambda r: f"alpha={r['width']}") if label == "width" else (lambda r: f"{r['size']}px")
    dear, cheap = max(live, key=lambda r: r["macs"]), min(live, key=lambda r: r["macs"])
    epochs = ", ".join(f"{name(r)} {r['epochs']}" for r in live)
    s = (f"Every {label} setting trained for the same {budget_s:g} s, so the cheaper ones ran more epochs ({epochs}): "
         f"this {label} sweep measures accuracy per second of training, not what each network can learn. ")
    if cheap["epochs"] > dear["epochs"] and cheap["val_acc"] > dear["val_acc"]:
        return s + (f"Here the cheapest setting, {name(cheap)}, ends {100 * (cheap['val_acc'] - dear['val_acc']):.2f} points above {name(dear)}: "
                    f"at this budget its extra epochs outweigh the capacity it lacks. With a schedule of equal epochs "
                    f"(--preset full) the order can differ; this run does not measure that.")
    if dear["val_acc"] >= cheap["val_acc"]:
        return s + (f"Even so {name(dear)} ends {100 * (dear['val_acc'] - cheap['val_acc']):.2f} points above {name(cheap)}: the capacity "
                    f"it has outweighs the epochs it could not run.")
    return s


def cost_section(run, cost_rows) -> Section:
    threads = torch.get_num_threads()
    cost = Section("Depthwise-separable vs full convolution")
    cost.table(["channels", "theory 1/N+1/9", "counted MAC ratio", "separable ms", "full ms", "measured time ratio"],
               [[r["channels"], f"{r['theory']:.4f}", f"{r['macs_ratio']:.4f}", f"{r['ms_separable']:.2f}", f"{r['ms_full']:.2f}",
                 f"{r['time_ratio']:.3f}"] for r in cost_rows],
               f"One 3x3 layer with M = N channels on a batch of 16 8x8 maps, median CPU time with {threads} thread(s).")
    big = cost_rows[-1]
    cost.text(f"At N={big['channels']} the separable layer needs {big['macs_ratio']:.3f} of the full conv's multiply-adds (theory "
              f"{big['theory']:.3f}) but takes {big['time_ratio']:.3f} of its time"
              + (": depthwise convolutions do little arithmetic per byte of memory traffic, so the speed-up on a CPU is smaller "
                 "than the arithmetic saving." if big["time_ratio"] > big["macs_ratio"] else "."))
    cost.figure(run.save_figure(cf.cost_ratio(cost_rows), "separable_cost"), "Cost ratio against channel count.", base=run.path)
    return cost


def one_by_one_section(run, models, val) -> list[Section]:
    viz_model = models.get("inception") or next((m for m in models.values() if _has_pointwise(m)), None)
    if viz_model is None:
        return []
    fig, info = cf.one_by_one_maps(viz_model, val[0][:1])
    s = Section("What a 1x1 convolution computes")
    s.text(f"A 1x1 convolution looks at one pixel at a time: each of its {info['out_channels']} output maps is a weighted sum "
           f"of the {info['in_channels']} input maps at the same position (a per-pixel linear mix of channels, i.e. a fully "
           f"connected layer applied at every pixel). The figure shows, for layer {info['layer']} of the trained "
           f"{viz_model.model_spec['name']}, the input maps with the largest weights and the output map; recomputing the "
           f"output as that explicit weighted sum differs from the conv by at most {info['max_abs_err']:.1e}.")
    s.figure(run.save_figure(fig, "one_by_one_conv"), "Input feature maps (weights above) and the 1x1 conv output.", base=run.path)
    return [s]


def left_out_text(cfg) -> str:
    """What this run does not train (models, sweeps), with the command that runs all of it and its budget."""
    from tamrin.experiments.cnn_cifar10 import MODELS, Config

    missing = [m for m in MODELS if m not in cfg.models]
    parts = ([", ".join(missing)] if missing else []) + (
        [f"the width (alpha) and resolution (rho) sweeps of {cfg.sweep_model}"] if not cfg.sweeps else [])
    if not parts:
        return ""
    full = Config.cpu()
    extra = (len(full.widths) + len(full.sizes) - 2) if full.sweeps and full.sweep_model in full.models else 0
    budget = full.fast_train.budget_s + (len(full.models) - 1) * full.train.budget_s + extra * full.sweep_budget_s
    return (f"Not in this run: {' and '.join(parts)}. `tamrin run cnn-cifar10 --preset cpu` trains all "
            f"{len(full.models)} models and both sweeps with wall-clock budgets ({budget / 60:.0f} min of training "
            f"in all) and answers every part of hw4.p2.")


def _has_pointwise(model) -> bool:
    try:
        cf.first_pointwise_conv(model)
        return True
    except ValueError:
        return False


def report(cfg, run, ds, train, val, test, rows, models, width_rows, size_rows, cost_rows, test_metrics, tds, preds,
           n_train_shown) -> list[Section]:
    n_val, majority = len(val[1]), float(np.bincount(np.asarray(val[1])).max()) / max(1, len(val[1]))
    for r in rows + list(width_rows) + list(size_rows):  # a model at chance level is shown, never interpreted
        r["at_chance"] = chance_from_counts(round(r["val_acc"] * n_val), n_val, majority)["at_chance"]
    sections = [summary_section(cfg, train, val, test, rows, tds), data_section(cfg, run, ds, train, val, test, tds, rows),
                comparison_section(cfg, run, rows, test)]
    if test is not None:
        sections.append(test_section(cfg, run, rows, test_metrics, ds.classes))
    sections += standard_reports(cfg, run, rows, preds, ds.classes, n_train_shown, models)
    if cfg.sweeps and (width_rows or size_rows):
        sections.append(sweep_section(cfg, run, width_rows, size_rows, rows))
    sections.append(cost_section(run, cost_rows))
    return sections + one_by_one_section(run, models, val)
