"""Mixed precision and channels_last on this CPU: accuracy AND speed of a small CNN on a CIFAR-10 subset.

Every variant trains the same model (same seed, same initial weights, same batches: tamrin.train.fit
with the same TrainConfig apart from `amp` / `channels_last`) and is evaluated on the same held-out
images. Variants run interleaved, round after round, so a busy shared machine slows all of them alike;
the speed is the median over rounds of training images per second.

    PYTHONPATH=. python benchmarks/amp.py                 # the reduced run used for benchmarks/amp.md
    PYTHONPATH=. python benchmarks/amp.py --train 8000 --epochs 5 --rounds 3 --threads 2

Writes benchmarks/results/amp.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tamrin.data import load_cifar10, stratified_split, to_tensor  # noqa: E402
from tamrin.runs import Run  # noqa: E402
from tamrin.train import TrainConfig, evaluate, fit  # noqa: E402

VARIANTS = {  # name: (amp, channels_last)
    "fp32": (False, False),
    "fp32 + channels_last": (False, True),
    "bf16 autocast": (True, False),
    "bf16 autocast + channels_last": (True, True),
}


def small_cnn() -> nn.Module:
    """3 conv blocks (32-64-128 channels, BatchNorm, ReLU), global average pooling, linear head."""
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    return nn.Sequential(*block(3, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=2000, help="training images (stratified subset)")
    ap.add_argument("--val", type=int, default=1000, help="held-out images")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2, help="repeat every variant this many times (interleaved)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "amp.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    ds = load_cifar10(split="train")
    if ds.is_fallback:
        print("NOTE: CIFAR-10 not found, measuring on the synthetic stand-in", file=sys.stderr)
    rest, sub = stratified_split(ds.labels, (args.train + args.val) / len(ds.labels), seed=0)
    ds = ds.subset(sub)
    tr, va = stratified_split(ds.labels, args.val / len(ds.labels), seed=0)
    x, y = to_tensor(ds)
    mean = x[tr].mean((0, 2, 3), keepdim=True)
    std = x[tr].std((0, 2, 3), keepdim=True)
    x = (x - mean) / std
    data_tr, data_va = (x[tr], y[tr]), (x[va], y[va])

    results = {name: {"images_per_s": [], "epoch_seconds": [], "val_acc": [], "val_loss": [], "train_loss": []} for name in VARIANTS}
    import tempfile

    for r in range(args.rounds):
        for name, (amp, cl) in VARIANTS.items():
            cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch, optimizer="sgd", lr=0.05, momentum=0.9,
                              weight_decay=5e-4, schedule="cosine", amp=amp, channels_last=cl, progress=False)
            torch.manual_seed(0)
            model = small_cnn()
            with tempfile.TemporaryDirectory() as d:
                res = fit(model, data_tr, data_va, cfg, Run(d, quiet=True), tag="cnn", seed=0)
            last = res.history[-1]
            # accuracy of the final weights evaluated in float32 too, to separate training from inference effects
            ev32 = evaluate(model, data_va, 512)
            ips = statistics.median(h["images_per_s"] for h in res.history)
            results[name]["images_per_s"].append(ips)
            results[name]["epoch_seconds"].append(statistics.median(h["seconds"] for h in res.history))
            results[name]["val_acc"].append(last["val_acc"])
            results[name]["val_loss"].append(last["val_loss"])
            results[name]["train_loss"].append(last["train_loss"])
            results[name].setdefault("val_acc_fp32_eval", []).append(ev32["acc"])
            print(f"round {r + 1} {name:<30} {ips:7.0f} img/s  val acc {last['val_acc']:.4f} "
                  f"(fp32 eval {ev32['acc']:.4f})  train loss {last['train_loss']:.4f}", flush=True)

    base = statistics.median(results["fp32"]["images_per_s"])
    summary = {}
    for name, r in results.items():
        ips = statistics.median(r["images_per_s"])
        summary[name] = {"images_per_s": ips, "speedup_vs_fp32": ips / base, "val_acc": r["val_acc"][-1],
                         "val_acc_fp32_eval": r["val_acc_fp32_eval"][-1], "train_loss": r["train_loss"][-1]}
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    out = {"args": vars(args), "data": ds.source, "n_train": len(tr), "n_val": len(va),
           "machine": {"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(), "loadavg_at_end": load,
                       "cpu_flags": _cpu_flags()},
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": results, "summary": summary}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


def _cpu_flags() -> list[str]:
    try:
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16"))


if __name__ == "__main__":
    raise SystemExit(main())
