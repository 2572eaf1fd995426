"""CIFAR-10 CPU benchmark for the CNNs of issue #5.

(a) Accuracy within a training-time budget: MobileNetV1, MobileNetV2 and the CNN baseline, each trained
    for `--budget-s` seconds of wall time (the issue asks for 1200 s; the default here is shorter because
    the machine is shared) on 45,000 CIFAR-10 training images, then evaluated once on the stratified
    5,000-image validation split. A short calibration measures images/s first, so the one-cycle schedule
    is planned to end when the budget does.
(b) Throughput of tamrin.train.fit against a minimal plain-PyTorch loop on the same model, data (in memory,
    normalised), batch size, augmentation, channels_last and thread count, alternated to share the
    machine's noise. Target: ratio >= 1.0 (the trainer adds no overhead).

    PYTHONPATH=. python benchmarks/cifar10.py --budget-s 150 --threads 1
Writes benchmarks/results/cifar10.json and benchmarks/cifar10.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tamrin.data.augment import crop_flip, normalize
from tamrin.data import load_cifar10, stratified_split, to_tensor
from tamrin.models import count_macs, count_params, create
from tamrin.runs import atomic_write_json, atomic_write_text, environment
from tamrin.train import TrainConfig, evaluate, fit
from tamrin.train.precision import cpu_has_bf16

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar10_budget import cpu_label, machine  # noqa: E402  (the same CPU label as the budget table)

ROOT = Path(__file__).resolve().parent


def recipe(args, epochs=1, steps=0, amp=False) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=args.batch, optimizer="sgd", lr=args.lr, momentum=0.9, nesterov=True,
                       weight_decay=5e-4, schedule="onecycle", label_smoothing=0.1, channels_last=True, amp=amp,
                       amp_dtype="bf16", threads=args.threads, max_steps_per_epoch=steps, progress=sys.stderr.isatty())


def images_per_s(model, x, y, args, steps=6) -> float:
    """Calibration: training images/s of `model` over `steps` batches after 2 warm-up steps."""
    res = fit(model, (x[: args.batch * (steps + 2)], y[: args.batch * (steps + 2)]), None, recipe(args, 1, steps + 2),
              None, tag="calibrate", augment=crop_flip)
    return res.history[-1]["images_per_s"]


def budget_run(name, data_tr, data_va, args) -> dict:
    torch.manual_seed(0)
    x, y = data_tr
    ips = images_per_s(create(name, 10, args.width, 32), x, y, args)
    steps = max(1, int(args.budget_s * ips / args.batch))
    torch.manual_seed(0)
    model = create(name, 10, args.width, 32)
    t0 = time.perf_counter()
    res = fit(model, data_tr, None, recipe(args, 1, steps), None, tag=name, augment=crop_flip)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = evaluate(res.model, data_va, 500, channels_last=True)
    row = {"model": name, "width": args.width, "params": count_params(model), "macs": count_macs(model, 32),
           "calibrated_images_per_s": ips, "planned_steps": steps, "images_seen": steps * args.batch,
           "epochs_equivalent": steps * args.batch / len(y), "train_s": train_s, "eval_s": time.perf_counter() - t1,
           "val_acc": ev["acc"], "val_loss": ev["loss"], "train_acc_last_epoch": res.history[-1]["train_acc"]}
    print(f"{name}: {row['val_acc']:.4f} val acc after {train_s:.0f} s ({row['epochs_equivalent']:.2f} epochs)", flush=True)
    return row


def plain_loop(model, x, y, args, steps, amp=False) -> float:
    """The minimal loop a student would write: images/s over `steps` batches (same work as fit, bf16 autocast if amp)."""
    torch.set_num_threads(args.threads)
    model.to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(1)
    order = torch.randperm(len(x), generator=gen)
    seen, t0 = 0, time.perf_counter()
    for s in range(steps):
        idx = order[s * args.batch:(s + 1) * args.batch]
        xb = crop_flip(x[idx], gen).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(xb).float(), y[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(idx)
    return seen / (time.perf_counter() - t0)


def throughput(data_tr, args) -> dict:
    x, y = data_tr
    name, steps = args.throughput_model, args.throughput_steps
    w = args.throughput_width
    amp = {"on": True, "off": False}.get(args.throughput_amp, cpu_has_bf16())  # auto: bf16 where the CPU has it natively
    plain, trainer = [], []

    def run_plain():
        torch.manual_seed(0)
        plain.append(plain_loop(create(name, 10, w, 32), x, y, args, steps, amp))

    def run_trainer():
        torch.manual_seed(0)
        t0 = time.perf_counter()
        fit(create(name, 10, w, 32), (x[: steps * args.batch], y[: steps * args.batch]), None,
            recipe(args, 1, steps, amp), None, tag="throughput", augment=crop_flip)
        trainer.append(steps * args.batch / (time.perf_counter() - t0))  # wall time of the whole fit() call

    for r in range(args.rounds):  # alternate (and swap the order) so both see the same noisy, shared machine
        for fn in ((run_plain, run_trainer) if r % 2 == 0 else (run_trainer, run_plain)):
            fn()
    p, t = statistics.median(plain), statistics.median(trainer)
    print(f"throughput {name}: trainer {t:.1f} img/s vs plain {p:.1f} img/s = {t / p:.3f}x", flush=True)
    return {"model": name, "width": w, "steps": steps, "batch": args.batch, "rounds": args.rounds, "amp": amp,
            "cpu": cpu_label(machine()), "load_avg": [round(v, 2) for v in os.getloadavg()],
            "plain_images_per_s": plain, "trainer_images_per_s": trainer, "plain_median": p, "trainer_median": t,
            "ratio": t / p}


def write_md(res: dict) -> str:
    a = res["args"]
    lines = ["# CIFAR-10 CNN benchmark (issue #5)", "",
             f"Measured {res['env']['time']} on {res['env']['cpu_count']} CPU cores (load average at start "
             f"{res['load_avg_start']}), {a['threads']} torch thread(s), batch {a['batch']}, width multiplier {a['width']}, "
             f"commit {res['env']['git_commit']}. Reproduce: `PYTHONPATH=. python benchmarks/cifar10.py --budget-s {a['budget_s']:g} "
             f"--threads {a['threads']} --batch {a['batch']} --throughput-model {a['throughput_model']} "
             f"--throughput-width {a['throughput_width']}" + (" --skip-budget" if a.get("skip_budget") else "") + "`.", "",
             f"## (a) Validation accuracy within a {a['budget_s']:g} s training budget per model", ""]
    if not res["budget"]:
        lines += ["Superseded by benchmarks/cifar10_budget.py (`train.budget_s`, the fast CNN, bf16): see "
                  "\"CIFAR-10 time to accuracy\". This run measured only (b).", ""]
    else:
        lines += ["| model | params (M) | mult-adds (M) | train img/s | images seen | epochs | train s | val acc |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in res["budget"]:
        lines.append(f"| {r['model']} | {r['params'] / 1e6:.3f} | {r['macs'] / 1e6:.1f} | {r['calibrated_images_per_s']:.0f} | "
                     f"{r['images_seen']} | {r['epochs_equivalent']:.2f} | {r['train_s']:.0f} | {r['val_acc']:.4f} |")
    over = [r for r in res["budget"] if r["train_s"] > 1.05 * a["budget_s"]]
    if not res["budget"]:
        over = []
    if over:
        names = ", ".join(f"{r['model']} ({r['train_s']:.0f} s)" for r in over)
        lines += ["", f"Over budget: {names}. The step count is planned from a short throughput calibration "
                  "and the shared machine slowed down afterwards."]
    lines += [] if not res["budget"] else ["", f"Validation: stratified 10% of the 50,000 training images ({res['n_val']} images); train: {res['n_train']} images, "
              "random crop (4-pixel padding) + flip, SGD (Nesterov, momentum 0.9, wd 5e-4), one-cycle over the planned steps, "
              "label smoothing 0.1. The issue's budget is 1200 s per model; public reimplementations reach 92-94% after "
              "200 GPU epochs, which is far beyond a few CPU minutes.", ""]
    t = res.get("throughput")
    if t:
        lines += ["## (b) Trainer vs minimal plain-PyTorch loop", "",
                  "| model | steps x batch | bf16 autocast | plain img/s (median) | trainer img/s (median) | ratio |",
                  "| --- | ---: | --- | ---: | ---: | ---: |",
                  f"| {t['model']} (width {t['width']}) | {t['steps']} x {t['batch']} | {'yes' if t.get('amp') else 'no'} | "
                  f"{t['plain_median']:.1f} | {t['trainer_median']:.1f} | {t['ratio']:.3f}x |", "",
                  f"CPU: {t.get('cpu', 'not recorded')}; load average at the end of (b): {t.get('load_avg', 'not recorded')}. "
                  "Both loops: SGD (Nesterov), crop + flip, channels_last, label smoothing, the same thread count"
                  + (", bf16 autocast." if t.get('amp') else "."), "",
                  f"Per-round values: plain {', '.join(f'{v:.1f}' for v in t['plain_images_per_s'])}; trainer "
                  f"{', '.join(f'{v:.1f}' for v in t['trainer_images_per_s'])} (trainer timed over the whole `fit()` call). "
                  f"Target >= 1.0x: {'met' if t['ratio'] >= 1.0 else 'NOT met'}. Rounds vary by "
                  f"{min(t['plain_images_per_s'] + t['trainer_images_per_s']):.0f}-{max(t['plain_images_per_s'] + t['trainer_images_per_s']):.0f} img/s "
                  "(the machine's noise, shared or not); "
                  f"a ratio within a few percent of 1.0 means 'no measurable overhead', not a speed-up.", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-s", type=float, default=150.0, help="training seconds per model (issue: 1200)")
    ap.add_argument("--models", default="mobilenet_v1,mobilenet_v2,cnn_baseline")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy shared machine")
    ap.add_argument("--throughput-model", default="mobilenet_v1")
    ap.add_argument("--throughput-width", type=float, default=0.5)
    ap.add_argument("--throughput-steps", type=int, default=12)
    ap.add_argument("--throughput-amp", choices=("auto", "on", "off"), default="auto",
                    help="bf16 autocast in both loops; auto = where the CPU has native bf16")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--skip-budget", action="store_true")
    ap.add_argument("--data-dir", default="")
    ap.add_argument("--md-only", action="store_true", help="re-render cifar10.md from the results JSON")
    args = ap.parse_args(argv)
    if args.md_only:
        atomic_write_text(ROOT / "cifar10.md", write_md(json.loads((ROOT / "results" / "cifar10.json").read_text())))
        return
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()[0]
    ds = load_cifar10(args.data_dir, "train")
    tr, va = stratified_split(ds.labels, 0.1, 0)
    x, y = to_tensor(ds)
    x = normalize(x)
    data_tr, data_va = (x[tr], y[tr]), (x[va], y[va])
    res = {"args": vars(args), "env": environment(0), "load_avg_start": round(load0, 2), "source": ds.source,
           "n_train": len(tr), "n_val": len(va), "budget": []}
    out = ROOT / "results" / "cifar10.json"
    res["throughput"] = throughput(data_tr, args)
    atomic_write_json(out, res)
    if not args.skip_budget:
        for name in args.models.split(","):
            res["budget"].append(budget_run(name, data_tr, data_va, args))
            atomic_write_json(out, res)  # partial results survive an interrupted benchmark
    res["load_avg_end"] = round(os.getloadavg()[0], 2)
    atomic_write_json(out, res)
    atomic_write_text(ROOT / "cifar10.md", write_md(res))
    print(f"wrote {out} and {ROOT / 'cifar10.md'}")


if __name__ == "__main__":
    main()
