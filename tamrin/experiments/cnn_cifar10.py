"""cnn-cifar10: MobileNetV1/V2, Conv-MobileNet, a plain CNN and an Inception network on CIFAR-10.

One comparison table (parameters, multiply-adds, size, CPU latency in PyTorch and ONNX Runtime, training
time, validation accuracy), width (alpha) and resolution (rho) sweeps of one model with accuracy-vs-cost
plots, the measured cost of depthwise-separable vs full convolution against theory, and a figure of what
a 1x1 convolution computes. The defaults are the GPU recipe; --quick is a CPU smoke run on a subset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from tamrin.data.augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalize, resize
from tamrin.data import load_cifar10, stratified_split, to_tensor
from tamrin.errors import UserError
from tamrin.experiments import _cnn_figures as cf
from tamrin.models import count_macs, count_params, create, list_models
from tamrin.models.export import export_onnx, max_abs_diff, onnx_latency_ms, onnx_session, torch_latency_ms
from tamrin.models.measure import separable_vs_full, state_dict_mb
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.report.metrics import chance_from_counts
from tamrin.train import TrainConfig, fit, predict

MODELS = ("mobilenet_v1", "mobilenet_v2", "conv_mobilenet", "cnn_baseline", "inception")


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    models: tuple[str, ...] = MODELS
    width: float = 1.0  # width multiplier of the compared models
    sweep_model: str = "mobilenet_v1"
    widths: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)  # alpha sweep
    sizes: tuple[int, ...] = (32, 28, 24, 16)  # rho sweep: input sizes by resizing
    subset: int = 0  # use this many training images (stratified; 0 = all 50,000)
    val_fraction: float = 0.1
    augment: bool = True  # random crop (4-pixel padding) + horizontal flip
    latency_repeats: int = 20
    cost_channels: tuple[int, ...] = (32, 64, 128, 256, 512)
    onnx: bool = True
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=60, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
        schedule="cosine", warmup_epochs=1, label_smoothing=0.1, channels_last=True, device="auto"))

    @classmethod
    def quick(cls) -> "Config":
        # 5,000 images x 3 epochs (~2.5 min on the 2-core CPU): every model ends clearly above chance (measured
        # 21-43% on the held-out 10%; 1,000 images x 1 epoch left all of them at 9-18%, i.e. at chance)
        return cls(subset=5000, width=0.25, widths=(0.5, 0.25), sizes=(32, 16), latency_repeats=3,
                   cost_channels=(32, 128), train=TrainConfig(
                       epochs=3, batch_size=64, lr=0.05, weight_decay=5e-4, schedule="cosine", label_smoothing=0.1,
                       channels_last=True, threads=1, progress=False))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(subset=200, models=("mobilenet_v1",), width=0.25, widths=(0.25,), sizes=(16,),
                   latency_repeats=1, cost_channels=(32,), onnx=False, train=TrainConfig(
                       epochs=2, batch_size=32, lr=0.05, weight_decay=5e-4, schedule="cosine", label_smoothing=0.1,
                       channels_last=True, threads=1, progress=False, max_steps_per_epoch=3))

    def validate(self):
        known = list_models()
        for m in (*self.models, self.sweep_model):
            if m not in known:
                raise UserError(f"unknown model {m!r}; choose from: {', '.join(known)}")
        if not self.models:
            raise UserError("models must name at least one model")
        if any(not 0 < w <= 4 for w in (*self.widths, self.width)):
            raise UserError("width multipliers must be in (0, 4]")
        if any(not 8 <= s <= 32 for s in self.sizes):
            raise UserError(f"sizes must be between 8 and 32 pixels, got {self.sizes}")
        if not 0 < self.val_fraction < 0.5:
            raise UserError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        if self.subset < 0 or 0 < self.subset < 100:
            raise UserError(f"subset must be 0 (all) or at least 100 images, got {self.subset}")
        self.train.validate()


def load_data(cfg: Config, run):
    """Normalised tensors (train, val) from the CIFAR-10 training split; the test split when present."""
    ds = load_cifar10(cfg.data_dir, "train", run=run)
    if cfg.subset and cfg.subset < len(ds.labels):
        keep, _ = stratified_split(ds.labels, 1 - cfg.subset / len(ds.labels), cfg.seed)
        ds = ds.subset(keep)
    tr, va = stratified_split(ds.labels, cfg.val_fraction, cfg.seed)
    x, y = to_tensor(ds)
    if x.shape[1] != 3:
        raise UserError(f"expected RGB images, got {x.shape[1]} channel(s) from {ds.source}")
    x = normalize(x)  # the published CIFAR-10 training-set statistics (see tamrin.data.augment)
    test = None
    try:
        tds = load_cifar10(cfg.data_dir, "test", run=run, fallback=False)
        test = (normalize(to_tensor(tds)[0]), torch.as_tensor(tds.labels))
    except UserError:
        pass
    return ds, (x[tr], y[tr]), (x[va], y[va]), test


def train_one(cfg, run, name, width, size, data_tr, data_va, tag):
    """Build, train and measure one model; returns (model, row dict)."""
    torch.manual_seed(cfg.seed)
    model = create(name, num_classes=10, width_mult=width, input_size=size)
    res = fit(model, data_tr, data_va, cfg.train, run, tag=tag, augment=crop_flip if cfg.augment else None, seed=cfg.seed)
    model = res.model.cpu().to(memory_format=torch.contiguous_format).eval()
    h = res.history
    return model, {
        "model": name, "width": width, "size": size, "tag": tag, "params": count_params(model),
        "macs": count_macs(model, size), "val_acc": res.best_val_acc, "best_epoch": res.best_epoch,
        "epochs": len(h), "s_per_epoch": float(np.mean([r["seconds"] for r in h])),
        "images_per_s": float(np.mean([r["images_per_s"] for r in h])), "history": h,
    }


def measure(cfg, run, model, row, x_val):
    """Size, PyTorch and ONNX Runtime latency (batch 1 and 64), ONNX agreement."""
    size = row["size"]
    row["size_mb"] = state_dict_mb(model)
    x1, x64 = x_val[:1], x_val[:64]
    if len(x64) < 64:  # tiny subsets: repeat images to make a full batch
        x64 = x64.repeat(math.ceil(64 / len(x64)), 1, 1, 1)[:64]
    row["torch_ms_b1"] = torch_latency_ms(model, x1, cfg.latency_repeats)
    row["torch_ms_b64"] = torch_latency_ms(model, x64, max(3, cfg.latency_repeats // 4))
    if cfg.onnx:
        data = export_onnx(model, run.path / "onnx" / f"{row['tag']}.onnx", size)
        sess = onnx_session(data, threads=torch.get_num_threads())
        row["onnx_ms_b1"] = onnx_latency_ms(sess, x1.numpy(), cfg.latency_repeats)
        row["onnx_ms_b64"] = onnx_latency_ms(sess, x64.numpy(), max(3, cfg.latency_repeats // 4))
        row["onnx_max_diff"] = max_abs_diff(model, sess, x64)
        row["onnx_mb"] = len(data) / 1e6
    return row


def run(cfg: Config, run) -> list[Section]:
    ds, (x_tr, y_tr), (x_va, y_va), test = load_data(cfg, run)
    run.info(f"cnn-cifar10: {len(y_tr)} train / {len(y_va)} validation images from {ds.source}")
    rows, models = [], {}
    for name in cfg.models:
        model, row = train_one(cfg, run, name, cfg.width, 32, (x_tr, y_tr), (x_va, y_va), name)
        rows.append(measure(cfg, run, model, row, x_va))
        models[name] = model
        if test is not None:
            row["test_acc"] = float((predict(model, test[0]).argmax(1) == test[1]).float().mean())
    by_tag = {r["tag"]: r for r in rows}

    # Width sweep (alpha) and resolution sweep (rho) of one model; reuse the compared model where equal.
    width_rows, size_rows = [], []
    for a in cfg.widths:
        if cfg.sweep_model in cfg.models and a == cfg.width:
            width_rows.append(by_tag[cfg.sweep_model])
            continue
        width_rows.append(train_one(cfg, run, cfg.sweep_model, a, 32, (x_tr, y_tr), (x_va, y_va), f"{cfg.sweep_model}_a{a}")[1])
    for s in cfg.sizes:
        if cfg.sweep_model in cfg.models and s == 32:
            size_rows.append(by_tag[cfg.sweep_model])
            continue
        data_tr, data_va = (resize(x_tr, s), y_tr), (resize(x_va, s), y_va)
        size_rows.append(train_one(cfg, run, cfg.sweep_model, cfg.width, s, data_tr, data_va, f"{cfg.sweep_model}_r{s}")[1])

    cost_rows = separable_vs_full(cfg.cost_channels, repeats=max(3, cfg.latency_repeats // 2))
    run.write_json("results.json", {"models": [{k: v for k, v in r.items() if k != "history"} for r in rows],
                                    "width_sweep": [{k: v for k, v in r.items() if k != "history"} for r in width_rows],
                                    "size_sweep": [{k: v for k, v in r.items() if k != "history"} for r in size_rows],
                                    "separable_cost": cost_rows, "threads": torch.get_num_threads()})
    return report(cfg, run, ds, (x_tr, y_tr), (x_va, y_va), test, rows, models, width_rows, size_rows, cost_rows)


def _f(v, fmt):
    return "" if v is None else format(v, fmt)


def report(cfg, run, ds, train, val, test, rows, models, width_rows, size_rows, cost_rows) -> list[Section]:
    threads = torch.get_num_threads()
    best = max(rows, key=lambda r: r["val_acc"])
    n_val, majority = len(val[1]), float(np.bincount(np.asarray(val[1])).max()) / max(1, len(val[1]))
    for r in rows + list(width_rows) + list(size_rows):  # a model at chance level is shown, never interpreted
        r["at_chance"] = chance_from_counts(round(r["val_acc"] * n_val), n_val, majority)["at_chance"]
    summary = Section("Summary")
    if best["at_chance"]:
        summary.notice(f"At chance level: the best validation accuracy, {best['val_acc']:.2%} on {n_val:,} images, is not "
                       f"significantly above the majority-class rate {majority:.1%} (binomial test); no model has learned yet, so "
                       "the differences below are noise and are not interpreted. Train longer (the full preset) for results.")
    summary.text(f"{len(rows)} network{'s' if len(rows) != 1 else ''} trained with the same recipe on {len(train[1])} CIFAR-10 images and validated on "
                 f"{len(val[1])} held-out images at width multiplier {cfg.width}. The best validation accuracy is "
                 f"{best['val_acc']:.2%} ({best['model']}, {best['macs'] / 1e6:.1f}M multiply-adds, {best['params'] / 1e6:.2f}M parameters).")
    if test is None:
        summary.text("No CIFAR-10 test split was found, so every accuracy here is validation accuracy (model selection "
                     "and reporting on the same held-out 10%; expect it to be slightly optimistic).")

    data = Section("Data and recipe")
    data.text(f"Source: {ds.source}. A stratified {cfg.val_fraction:.0%} of the training split (seed {cfg.seed}) is the "
              f"validation set. Pixels are scaled to [0, 1] and normalised per channel with the CIFAR-10 training-set mean "
              f"{', '.join(f'{m:.4f}' for m in CIFAR10_MEAN)} and std {', '.join(f'{s:.4f}' for s in CIFAR10_STD)} (not the "
              f"0.2023, 0.1994, 0.2010 std copied across many scripts). "
              + ("Training batches get a random 32x32 crop of the 4-pixel zero-padded image and a horizontal flip with probability 0.5. "
                 if cfg.augment else "No augmentation. ")
              + f"Optimiser {cfg.train.optimizer} (lr {cfg.train.lr}, momentum {cfg.train.momentum}, weight decay "
              f"{cfg.train.weight_decay}), {cfg.train.schedule} schedule per step, label smoothing {cfg.train.label_smoothing}, "
              f"batch {cfg.train.batch_size}, {cfg.train.epochs} epoch(s); the best-validation epoch is kept.")
    # a column per class (a class-sorted folder's first images would all be airplanes)
    per = [np.flatnonzero(ds.labels == c)[:3] for c in range(len(ds.classes))]
    pick = np.array([p[i] for i in range(3) for p in per if i < len(p)], dtype=int)
    grid = figs.image_grid(ds.images[pick], [ds.classes[int(i)] for i in ds.labels[pick]], ncols=min(10, len(ds.classes)))
    data.figure(run.save_figure(grid, "samples"), "Training images with their labels, up to three per class.", width=0.8, base=run.path)

    comp = Section("Model comparison")
    cols = ["model", "params (M)", "mult-adds (M)", "size (MB)", "PyTorch ms b1", "PyTorch ms b64", "ONNX ms b1",
            "ONNX ms b64", "train s/epoch", "train img/s", "val acc"] + (["test acc"] if test is not None else [])
    table = [[r["model"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.1f}", f"{r['size_mb']:.2f}",
              f"{r['torch_ms_b1']:.2f}", f"{r['torch_ms_b64']:.1f}", _f(r.get("onnx_ms_b1"), ".2f"), _f(r.get("onnx_ms_b64"), ".1f"),
              f"{r['s_per_epoch']:.1f}", f"{r['images_per_s']:.0f}", f"{r['val_acc']:.4f}"]
             + ([f"{r['test_acc']:.4f}"] if test is not None else []) for r in rows]
    comp.table(cols, table, f"32x32 inputs, width {cfg.width}. Latency: median of {cfg.latency_repeats} CPU forward passes "
                            f"(batch 64: {max(3, cfg.latency_repeats // 4)}) with {threads} thread(s), eval mode; size = saved float32 state_dict.")
    v1, conv = next((r for r in rows if r["model"] == "mobilenet_v1"), None), next((r for r in rows if r["model"] == "conv_mobilenet"), None)
    if v1 and conv and not (v1["at_chance"] or conv["at_chance"]):
        comp.text(f"Conv-MobileNet has {conv['params'] / v1['params']:.1f}x the parameters and {conv['macs'] / v1['macs']:.1f}x the "
                  f"multiply-adds of MobileNetV1 but is only {conv['torch_ms_b64'] / v1['torch_ms_b64']:.1f}x slower at batch 64 on this CPU; "
                  f"its validation accuracy differs by {conv['val_acc'] - v1['val_acc']:+.2%}.")
    series = {r["model"]: r["history"] for r in rows}
    epochs = np.arange(1, max(len(h) for h in series.values()) + 1)
    comp.figure(run.save_figure(figs.lines(epochs, {n: [e.get("val_acc") for e in h] for n, h in series.items()},
                                           "Validation accuracy per epoch", "epoch", "validation accuracy"), "val_acc_curves"),
                "Validation accuracy per epoch of every compared model.", base=run.path)
    if cfg.onnx:
        worst = max(r["onnx_max_diff"] for r in rows)
        comp.text(f"Every trained model was exported to ONNX (folder onnx/ of this run). On validation images the largest "
                  f"|PyTorch - ONNX Runtime| logit difference over all models is {worst:.2e}"
                  + (" (within the 1e-4 tolerance)." if worst <= 1e-4 else " — ABOVE the 1e-4 tolerance."))
        if worst > 1e-4:
            run.notice(f"ONNX outputs differ from PyTorch by {worst:.2e} (> 1e-4)")

    sweep = Section("Width and resolution multipliers")
    srows = [[f"alpha={r['width']}", r["size"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.2f}", f"{r['val_acc']:.4f}"] for r in width_rows]
    srows += [[f"rho={r['size'] / 32:.3f}", r["size"], f"{r['params'] / 1e6:.3f}", f"{r['macs'] / 1e6:.2f}", f"{r['val_acc']:.4f}"] for r in size_rows]
    sweep.table(["setting", "input", "params (M)", "mult-adds (M)", "val acc"], srows,
                f"{cfg.sweep_model}: width sweep at 32x32, resolution sweep (images resized) at width {cfg.width}.")
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

    cost = Section("Depthwise-separable vs full convolution")
    cost.table(["channels", "theory 1/N+1/9", "counted MAC ratio", "separable ms", "full ms", "measured time ratio"],
               [[r["channels"], f"{r['theory']:.4f}", f"{r['macs_ratio']:.4f}", f"{r['ms_separable']:.2f}", f"{r['ms_full']:.2f}",
                 f"{r['time_ratio']:.3f}"] for r in cost_rows],
               f"One 3x3 layer with M = N channels on a batch of 16 8x8 maps, median CPU time with {threads} thread(s).")
    big = cost_rows[-1]
    cost.text(f"At N={big['channels']} the separable layer needs {big['macs_ratio']:.3f} of the full conv's multiply-adds (theory "
              f"{big['theory']:.3f}) but takes {big['time_ratio']:.3f} of its time: depthwise convolutions do little arithmetic "
              f"per byte of memory traffic, so the speed-up on a CPU is smaller than the arithmetic saving.")
    cost.figure(run.save_figure(cf.cost_ratio(cost_rows), "separable_cost"), "Cost ratio against channel count.", base=run.path)

    sections = [summary, data, comp, sweep, cost]
    viz_model = models.get("inception") or next(iter(models.values()))
    try:
        fig, info = cf.one_by_one_maps(viz_model, val[0][:1])
        s = Section("What a 1x1 convolution computes")
        s.text(f"A 1x1 convolution looks at one pixel at a time: each of its {info['out_channels']} output maps is a weighted sum "
               f"of the {info['in_channels']} input maps at the same position (a per-pixel linear mix of channels, i.e. a fully "
               f"connected layer applied at every pixel). The figure shows, for layer {info['layer']} of the trained "
               f"{viz_model.model_spec['name']}, the input maps with the largest weights and the output map; recomputing the "
               f"output as that explicit weighted sum differs from the conv by at most {info['max_abs_err']:.1e}.")
        s.figure(run.save_figure(fig, "one_by_one_conv"), "Input feature maps (weights above) and the 1x1 conv output.", base=run.path)
        sections.append(s)
    except ValueError:
        pass
    return sections


EXPERIMENT = Experiment(
    name="cnn-cifar10",
    description="MobileNetV1/V2, Conv-MobileNet, a plain CNN and Inception on CIFAR-10 with width/resolution sweeps and ONNX",
    exercise="Efficient CNNs: MobileNets, Inception, width and resolution multipliers",
    config=Config, run=run, order=40,
)
