"""Train and measure one cnn-cifar10 model: its recipe, its accuracy (with and without TTA), its costs."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from tamrin.data.augment import AlternatingCropFlip, crop_flip
from tamrin.models import count_macs, count_params, create
from tamrin.models.export import export_onnx, max_abs_diff, onnx_latency_ms, onnx_session, torch_latency_ms
from tamrin.models.measure import state_dict_mb
from tamrin.report.metrics import classification_metrics
from tamrin.train import fit, predict


def recipe_for(cfg, name: str):
    """The fast CNN trains with its own (airbench) recipe, every other model with cfg.train."""
    return cfg.fast_train if name == "fast_cnn" else cfg.train


def augmentation_for(cfg, name: str, n: int):
    if not cfg.augment:
        return None
    if name == "fast_cnn":  # airbench's: 2-pixel reflect-padded translation, alternating flips
        return AlternatingCropFlip(n, seed=cfg.seed, padding=2)
    return crop_flip


def describe_augmentation(cfg, name: str) -> str:
    if not cfg.augment:
        return "none"
    if name == "fast_cnn":
        return "random translation by up to 2 pixels (reflect padding), alternating horizontal flips (each image mirrored every other epoch)"
    return "random 32x32 crop of the 4-pixel zero-padded image, horizontal flip with probability 0.5"


def train_one(cfg, run, name, width, size, data_tr, data_va, tag, budget_s: float | None = None):
    """Build, train and evaluate one model; returns (model, row dict). budget_s replaces the recipe's budget."""
    torch.manual_seed(cfg.seed)
    model = create(name, num_classes=10, width_mult=width, input_size=size)
    if hasattr(model, "init_whitening"):
        model.init_whitening(data_tr[0])  # data-dependent first layer (fixed), from the training images only
    tc = recipe_for(cfg, name)
    if budget_s is not None:
        tc = dataclasses.replace(tc, budget_s=budget_s, epochs=max(tc.epochs, 200))
    res = fit(model, data_tr, data_va, tc, run, tag=tag, augment=augmentation_for(cfg, name, len(data_tr[1])), seed=cfg.seed)
    model = res.model.cpu().to(memory_format=torch.contiguous_format).eval()
    h = res.history
    row = {"model": name, "width": width, "size": size, "tag": tag, "params": count_params(model),
           "macs": count_macs(model, size), "val_acc": res.best_val_acc, "best_epoch": res.best_epoch,
           "epochs": len(h), "steps": res.steps, "train_s": res.seconds,
           "s_per_epoch": float(np.mean([r["seconds"] for r in h])),
           "images_per_s": float(np.mean([r["images_per_s"] for r in h])), "history": h,
           "budget_s": tc.budget_s, "amp": tc.amp, "threads": torch.get_num_threads()}
    return model, row


def evaluate_split(cfg, model, row, data, classes, key: str, tta: int | None = None) -> tuple[dict, np.ndarray]:
    """(metrics, probabilities) of a trained model on (x, y) with the configured TTA (or `tta`); row[key + '_acc'] etc. set."""
    tc = recipe_for(cfg, row["model"])
    logits = predict(model, data[0], tc.eval_batch_size, amp=tc.amp, tta=cfg.tta if tta is None else tta)
    probs = torch.softmax(logits, 1).numpy()
    m = classification_metrics(data[1].numpy(), None, probs, classes)
    row[f"{key}_acc"], row[f"{key}_macro_f1"] = m["accuracy"], m["macro_f1"]
    return m, probs


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
