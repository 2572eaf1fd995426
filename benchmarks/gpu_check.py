"""GPU check (issue #18, item 6): the CUDA paths and numbers, in ONE call on a lent machine.

(a) fast_cnn with airbench94's recipe (tamrin.train.recipes.airbench: fp16 autocast + GradScaler on CUDA, batch
    1,024, lookahead, alternating flips) on the 45,000 / 5,000 CIFAR-10 split, once per epoch count in --fast-epochs
    (plus one short warm-up run that pays for CUDA start-up and is not recorded): the fit's wall time and the 6-view
    TTA validation accuracy. Time to 94% = the shortest recorded run whose TTA accuracy reaches 94%.
(b) mobilenet_v2 with cnn-cifar10's default (GPU) recipe, 60 epochs (SGD + Nesterov 0.1, cosine, batch 128, label
    smoothing 0.1), its final accuracy with and without TTA; train.budget_s (--mnv2-budget-s) re-plans the schedule
    if 60 epochs do not fit, and the row says whether all 60 ran.
A GradScaler that had skipped every step would show as chance-level accuracy in both.

The data does not travel to the device machine by itself (../shared stays here): copy it into the ignored .gpu_data/
    mkdir -p .gpu_data/cifar10 && cp ../shared/data/cifar10/cifar10-train.tar.gz .gpu_data/cifar10/
then one `run` of the device tool with carry [".gpu_data"] and timeout_s 600:
    TAMRIN_SHARED=.gpu_data PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py
Writes $OUT/gpu_check.json (or benchmarks/results/gpu_check.json without $OUT). `--smoke` shrinks everything to
seconds on any device (tests/test_benchmark_tables.py runs it on the CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGET = 0.94  # airbench94's target, on CIFAR-10 test there; on the validation split here


def device_facts(device: str) -> dict:
    facts = {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda}
    if device == "cuda":
        p = torch.cuda.get_device_properties(0)
        facts.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), sm_count=p.multi_processor_count,
                     cudnn=torch.backends.cudnn.version())
    return facts


def _sync(device: str):
    if device == "cuda":
        torch.cuda.synchronize()


def train_and_eval(name: str, tc, data_tr, data_va, device: str, fast: bool) -> dict:
    from tamrin.data.augment import AlternatingCropFlip, crop_flip
    from tamrin.models import create
    from tamrin.train import fit, predict

    torch.manual_seed(0)
    model = create(name, num_classes=10, width_mult=1.0, input_size=32)
    if fast:
        model.init_whitening(data_tr[0])
    aug = AlternatingCropFlip(len(data_tr[1]), seed=0, padding=2) if fast else crop_flip
    _sync(device)
    t0 = time.perf_counter()
    res = fit(model, data_tr, data_va, tc, None, tag=name, augment=aug, seed=0)
    _sync(device)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    logits = predict(res.model, data_va[0], tc.eval_batch_size, device=device, channels_last=True, amp=tc.amp, tta=2)
    _sync(device)
    acc = float((logits.argmax(1).cpu() == data_va[1]).float().mean())
    return {"model": name, "epochs": len(res.history), "planned_epochs": tc.epochs, "steps": res.steps,
            "batch_size": tc.batch_size, "amp": tc.amp, "train_s": round(train_s, 2), "eval_s": round(time.perf_counter() - t1, 2),
            "val_acc_tta": acc, "val_acc_no_tta": res.best_val_acc,
            "curve": [[round(r["elapsed_s"], 2), r["val_acc"]] for r in res.history]}


def time_to_target(rows: list[dict]) -> dict | None:
    """The shortest recorded fast_cnn run whose TTA accuracy reaches the target (None when none does)."""
    ok = [r for r in rows if r["val_acc_tta"] >= TARGET]
    return min(ok, key=lambda r: r["train_s"]) if ok else None


def write_md(res: dict | None) -> str:
    """benchmarks/gpu_check.md from the results (or what to do while there are none)."""
    lines = ["# GPU check: fast CNN time to 94% and MobileNetV2's full recipe on CUDA (issue #18, item 6)", "",
             "Reproduce on a lent GPU machine (the `device` tool), CIFAR-10 carried in `.gpu_data/` (ignored by git): "
             "`TAMRIN_SHARED=.gpu_data PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py`, one call; then "
             "`python benchmarks/gpu_check.py --md-only` here with its gpu_check.json in benchmarks/results/.", ""]
    if not res or res.get("smoke"):
        return "\n".join(lines + ["**Not measured yet**: no GPU machine was lent to the sessions that worked on issue #18 "
                                   "(the script's every path runs on the CPU in tests/test_benchmark_tables.py).", ""])
    f = res["facts"]
    lines += [f"Device: {f.get('gpu', f['device'])}, torch {f['torch']}, CUDA {f.get('cuda')}, cuDNN {f.get('cudnn')}; "
              f"{res['date']}; train {res['n_train']:,} / validation {res['n_val']:,} images of the CIFAR-10 training split.", "",
              "| model | epochs | train s | val acc (TTA) | val acc (no TTA) | fp16 + GradScaler |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in res["fast_cnn"] + ([res["mobilenet_v2"]] if res.get("mobilenet_v2") else []):
        lines.append(f"| {r['model']} | {r['epochs']} | {r['train_s']:.1f} | {r['val_acc_tta']:.2%} | {r['val_acc_no_tta']:.2%} | "
                     f"{'yes' if r['amp'] else 'no'} |")
    t = res.get("time_to_target_s")
    lines += ["", f"fast_cnn time to {res['target']:.0%} (TTA, validation): "
              + (f"**{t:.1f} s** of training." if t is not None else "not reached by any recorded run."), ""]
    m = res.get("mobilenet_v2")
    if m and not m["all_epochs"]:
        lines += [f"MobileNetV2 ran {m['epochs']} of {m['planned_epochs']} epochs: the call's time cap (train.budget_s) "
                  "re-planned its schedule, so this is not the full recipe's accuracy.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from tamrin.data import load_cifar10, stratified_split, to_tensor
    from tamrin.data.augment import normalize
    from tamrin.experiments.cnn_cifar10 import Config
    from tamrin.runs import atomic_write_json
    from tamrin.train import recipes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--fast-epochs", default="8,10,12", help="fast_cnn epoch counts, each one recorded run")
    ap.add_argument("--mnv2-epochs", type=int, default=60)
    ap.add_argument("--mnv2-budget-s", type=float, default=300.0, help="cap on (b)'s training; 0 = none")
    ap.add_argument("--smoke", action="store_true", help="2,000 images, 1-epoch runs: a test of the script, not a result")
    ap.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--md-only", action="store_true", help="write benchmarks/gpu_check.md from benchmarks/results/gpu_check.json")
    args = ap.parse_args(argv)
    if args.md_only:
        saved = ROOT / "benchmarks" / "results" / "gpu_check.json"
        (ROOT / "benchmarks" / "gpu_check.md").write_text(write_md(json.loads(saved.read_text()) if saved.exists() else None))
        return 0
    dev = args.device
    t_start = time.time()
    ds = load_cifar10("", "train")
    tr, va = stratified_split(ds.labels, 0.1, 0)
    x, y = to_tensor(ds)
    x = normalize(x)
    if args.smoke:
        tr, va = tr[:1800], va[:200]
    data_tr, data_va = (x[tr], y[tr]), (x[va], y[va])
    res = {"facts": device_facts(dev), "smoke": args.smoke, "n_train": len(tr), "n_val": len(va), "target": TARGET,
           "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "fast_cnn": [], "mobilenet_v2": None}
    out = Path(args.out) / "gpu_check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    small = dict(max_steps_per_epoch=2) if args.smoke else {}
    fast = lambda e: recipes.airbench(epochs=e, device=dev, deterministic=False, progress=False, **small)  # noqa: E731
    train_and_eval("fast_cnn", fast(1), data_tr, data_va, dev, fast=True)  # warm-up: CUDA context, cuDNN plans
    for e in [int(v) for v in args.fast_epochs.split(",")]:
        row = train_and_eval("fast_cnn", fast(1 if args.smoke else e), data_tr, data_va, dev, fast=True)
        res["fast_cnn"].append(row)
        print(f"fast_cnn {e} epochs: {row['val_acc_tta']:.4f} (TTA) / {row['val_acc_no_tta']:.4f} after {row['train_s']:.1f} s",
              flush=True)
        atomic_write_json(out, res)  # each finished run survives a call cut at its limit
    best = time_to_target(res["fast_cnn"])
    res["time_to_target_s"] = best["train_s"] if best else None
    mt = Config().train  # cnn-cifar10's default (GPU) recipe
    mt.device, mt.progress, mt.deterministic = dev, False, False
    mt.amp = dev == "cuda"
    mt.epochs = 1 if args.smoke else args.mnv2_epochs
    mt.budget_s = 0.0 if args.smoke else args.mnv2_budget_s
    if args.smoke:
        mt.max_steps_per_epoch = 2
    res["mobilenet_v2"] = row = train_and_eval("mobilenet_v2", mt, data_tr, data_va, dev, fast=False)
    row["all_epochs"] = row["epochs"] >= mt.epochs
    print(f"mobilenet_v2: {row['val_acc_tta']:.4f} (TTA) / {row['val_acc_no_tta']:.4f} after {row['epochs']} epochs, "
          f"{row['train_s']:.0f} s", flush=True)
    res["wall_s"] = round(time.time() - t_start, 1)
    atomic_write_json(out, res)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
