"""Benchmark for issue #8: validation accuracy and macro-F1 of the compact VGG (Hewitt & Gunes), its GAP
variant and the VGG16 transfer model on the shared FER2013 subset, each within a wall-clock budget.

    PYTHONPATH=. python benchmarks/fer.py                      # the issue's 30 min per model, 2 models at a time
    PYTHONPATH=. python benchmarks/fer.py --budget-min 5 --epochs 10 --pretrain-epochs 1 --finetune-epochs 4  # a short look

Runs the real `fer` experiment. With --jobs 2 (default, for the 2-core course machine) the three trainings
run as separate processes, two at a time with one thread each, through the experiment's own
`train_stage` (same code, config and seed as `tamrin run fer`), each in its own run folder; their finished
checkpoints and cached backbone/features are then copied into one run folder and `run` evaluates and
reports them without retraining. `time_budget_s` is set on every training stage: a model stops after the
epoch in which its budget ran out and keeps its best-validation weights; the transfer model's budget covers
its CIFAR-10 pretraining too. Writes benchmarks/results/fer.json and benchmarks/fer.md; every number comes
from the run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ANCHORS = [("Hewitt & Gunes VGG-style, AffectNet 8-class validation", "58% acc, 0.58 macro-F1, AUC 0.90"),
           ("FER2013 human accuracy", "about 65%"),
           ("best single VGG-style net, all 28,709 FER2013 training images", "about 73%")]
PRETRAIN_SHARE = 0.35  # of the transfer model's budget: CIFAR-10 pretraining; the rest: head + fine-tuning


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=30.0, help="wall-clock minutes per model (the issue: 30)")
    ap.add_argument("--epochs", type=int, default=60, help="epochs the compact models' cosine schedule is planned for")
    ap.add_argument("--pretrain-epochs", type=int, default=6, help="CIFAR-10 pretraining epochs (one-cycle schedule)")
    ap.add_argument("--finetune-epochs", type=int, default=30, help="VGG16 fine-tuning epochs (cosine schedule)")
    ap.add_argument("--image-size", type=int, default=48)
    ap.add_argument("--transfer-size", type=int, default=48)
    ap.add_argument("--transfer-width", type=float, default=0.25, help="1 = the real VGG16; < 1 = width-reduced")
    ap.add_argument("--cifar-images", type=int, default=0, help="0 = all 50,000 (10%% held out)")
    ap.add_argument("--dropout", default="", help="Gaussian dropout after pools, dropout after dense layers, e.g. 0.2,0.5 "
                    "(the paper's); default: the experiment's")
    ap.add_argument("--augment", choices=("face", "flip", "none"), default="face", help="face = the full face augmentation")
    ap.add_argument("--no-transfer", action="store_true", help="only the two compact models")
    ap.add_argument("--jobs", type=int, default=2, help="trainings run at once, as separate processes (1 = all in one process)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fer.json"))
    ap.add_argument("--table", default=str(ROOT / "benchmarks" / "fer.md"))
    ap.add_argument("--run-dir", default="", help="run folder (default: a temporary one); reuse it to resume")
    ap.add_argument("--stage", default="", help=argparse.SUPPRESS)  # internal: train one model in --run-dir and exit
    return ap.parse_args(argv)


def make_config(a):
    import dataclasses

    from tamrin.experiments.fer import Config
    from tamrin.data.face_augment import FaceAugment

    cfg = Config()  # the experiment's defaults: the recipe is the experiment's, only budgets and sizes are set here
    budget = a.budget_min * 60
    tb = lambda tc, epochs, share=1.0: dataclasses.replace(  # noqa: E731
        tc, epochs=epochs, time_budget_s=budget * share, threads=a.threads, progress=sys.stderr.isatty())
    dconv, dfc = (float(v) for v in a.dropout.split(",")) if a.dropout else (cfg.dropout_conv, cfg.dropout_fc)
    aug = {"face": FaceAugment(), "flip": FaceAugment(rotate=0, shift=0, zoom=0, brightness=0, contrast=0),
           "none": FaceAugment(flip=0, rotate=0, shift=0, zoom=0, brightness=0, contrast=0)}[a.augment]
    t = cfg.transfer
    cfg = dataclasses.replace(
        cfg, image_size=a.image_size, dropout_conv=dconv, dropout_fc=dfc, augment=aug, explain_per_class=40,
        compact=tb(cfg.compact, a.epochs), gap=tb(cfg.gap, a.epochs),
        transfer=dataclasses.replace(t, enabled=not a.no_transfer, size=a.transfer_size, width=a.transfer_width,
                                     cifar_images=a.cifar_images, pretrain=tb(t.pretrain, a.pretrain_epochs, PRETRAIN_SHARE),
                                     head=dataclasses.replace(t.head, threads=a.threads, progress=False),
                                     # what the pretraining left of the budget; the head takes seconds
                                     finetune=tb(t.finetune, a.finetune_epochs, 1 - PRETRAIN_SHARE)))
    cfg.validate()
    return cfg


def train_parallel(a, cfg, run_dir: Path) -> dict:
    """Each training stage in its own process (`--stage`), `a.jobs` at a time; then their checkpoints and
    cache files are gathered into run_dir. Returns {stage: wall seconds of its process}."""
    from tamrin.experiments.fer import STAGES

    stages = [s for s in STAGES if s != "vgg16" or cfg.transfer.enabled]
    # the longest first: the transfer model (pretraining + fine-tuning) starts with the first free slot
    stages.sort(key=lambda s: s != "vgg16")
    walls_file = run_dir / "stages" / "walls.json"  # stages already finished (a rerun only evaluates)
    walls = json.loads(walls_file.read_text()) if walls_file.is_file() else {}
    argv, skip = [], False
    for x in sys.argv[1:]:  # the same options, minus --run-dir (each stage gets its own folder)
        if not skip and not x.startswith("--run-dir"):
            argv.append(x)
        skip = x == "--run-dir"
    pending, running = [st for st in stages if st not in walls], {}
    t_start = time.perf_counter()
    while pending or running:
        while pending and len(running) < a.jobs:
            st = pending.pop(0)
            wdir = run_dir / "stages" / st
            log = open(run_dir / f"stage-{st}.log", "a")
            cmd = [sys.executable, __file__, *argv, "--run-dir", str(wdir), "--stage", st]
            running[st] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.perf_counter(), log)
            print(f"started {st} (log: {log.name})", flush=True)
        time.sleep(2)
        for st, (proc, t0, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                if proc.returncode:
                    raise SystemExit(f"stage {st} failed (exit {proc.returncode}); see {run_dir}/stage-{st}.log")
                walls[st] = time.perf_counter() - t0
                print(f"finished {st} in {walls[st] / 60:.1f} min", flush=True)
                del running[st]
                if not running and not pending:
                    walls["training_phase"] = time.perf_counter() - t_start
                walls_file.write_text(json.dumps(walls, indent=1))
    for st in stages:  # gather: finished checkpoints + cached backbone/features, and the epoch records
        w = run_dir / "stages" / st
        for sub in ("checkpoints", "cache"):
            if (w / sub).is_dir():
                shutil.copytree(w / sub, run_dir / sub, dirs_exist_ok=True)
        seen = (run_dir / "metrics.jsonl").read_text() if (run_dir / "metrics.jsonl").is_file() else ""
        with open(run_dir / "metrics.jsonl", "a") as out:
            out.write("".join(line for line in (w / "metrics.jsonl").read_text().splitlines(True) if line not in seen))
    return walls


def main(argv=None):
    a = parse(argv)
    import torch

    from tamrin.experiment_runner import run_experiment
    from tamrin.experiments.fer import recipe, train_stage
    from tamrin.registry import get
    from tamrin.runs import Run

    torch.set_num_threads(a.threads)
    cfg = make_config(a)
    run_dir = Path(a.run_dir) if a.run_dir else Path(tempfile.mkdtemp(prefix="fer-bench-"))
    if a.stage:
        train_stage(cfg, Run(run_dir, "fer", quiet=False), a.stage)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    walls = train_parallel(a, cfg, run_dir) if a.jobs > 1 else {}
    t0 = time.perf_counter()
    # the CLI's code path: config.yaml, sections, the HTML and PDF report in run_dir
    run_experiment(get("fer"), cfg, run_dir.parent, run_dir=run_dir)
    evaluation = time.perf_counter() - t0
    res = json.loads((run_dir / "results.json").read_text())
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    epochs = {}
    for r in metrics:
        if r.get("tag"):
            epochs[r["tag"]] = max(epochs.get(r["tag"], 0), r.get("epoch", 0))
    out = {
        "date": time.strftime("%Y-%m-%d"), "budget_min_per_model": a.budget_min, "planned_epochs": a.epochs,
        "pretrain_epochs": a.pretrain_epochs, "finetune_epochs": a.finetune_epochs, "image_size": a.image_size,
        "transfer_size": a.transfer_size, "transfer_width": a.transfer_width, "cifar_images": a.cifar_images,
        "jobs": a.jobs, "threads": a.threads, "dropout": [cfg.dropout_conv, cfg.dropout_fc], "augment": a.augment,
        "recipe": {"compact": recipe(cfg.compact), "gap": recipe(cfg.gap), "finetune": recipe(cfg.transfer.finetune),
                   "pretrain": recipe(cfg.transfer.pretrain)},
        "stage_wall_s": {k: v for k, v in walls.items() if k != "training_phase"},
        "training_wall_s": walls.get("training_phase"), "evaluation_wall_s": evaluation, "epochs_run": epochs,
        "load_average_at_end": os.getloadavg(), "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__, "train_images": res["train_images"], "classes": res["classes"],
        "models": res["models"], "transfer_stages": res.get("transfer_stages"), "improvement": res["improvement"],
        "run_dir": str(run_dir),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    Path(a.table).write_text(table(out))
    print(table(out))


def table(r: dict) -> str:
    best = max(r["models"], key=lambda m: m["acc"])
    has_t = any(m["tag"] == "vgg16" for m in r["models"])
    par = (f"{r['jobs']} trainings at a time as separate processes, {r['threads']} torch thread each"
           if r["jobs"] > 1 else f"one training at a time, {r['threads']} torch thread(s)")
    lines = [
        "# FER2013 subset: compact VGG vs GAP variant vs VGG16 transfer (issue #8)", "",
        f"Measured {r['date']} on the {r['cpus']}-core CPU machine ({r['cpu']}, torch {r['torch']}); {par}; load average "
        f"{r['load_average_at_end'][0]:.1f} at the end. Shared FER2013 subset ({r['train_images']:,} training images, "
        f"{len(r['classes'])} classes, validation = the 3,589 PublicTest images), {r['image_size']} px greyscale for the "
        f"compact models" + (f", {r['transfer_size']} px for VGG16 (width ×{r['transfer_width']:g}"
                             f"{', width-reduced' if r['transfer_width'] != 1 else ''})" if has_t else " (no transfer model in this run)")
        + f". Budget: {r['budget_min_per_model']:g} wall-clock minutes of training per model, checked after each epoch (the "
        f"epoch running when it expires is finished, so a model may go over by up to one epoch; the transfer model's "
        f"budget includes its CIFAR-10 pretraining: {PRETRAIN_SHARE:.0%} of it). Compact VGG: {r['recipe']['compact']}; GAP variant: "
        f"{r['recipe']['gap']}; {r['planned_epochs']} planned epochs each, dropout {r['dropout'][0]:g}/{r['dropout'][1]:g} (the paper: 0.2/0.5), "
        f"augmentation: {r['augment']}, class-weighted loss. VGG16: CIFAR-10 pretraining {r['recipe']['pretrain']}, "
        f"{r['pretrain_epochs']} planned epochs; fine-tuning {r['recipe']['finetune']}, {r['finetune_epochs']} planned epochs. "
        + (f"Training phase: {r['training_wall_s'] / 60:.1f} min wall; " if r.get("training_wall_s") else "")
        + f"evaluation, CAM/Grad-CAM and the HTML/PDF report: {r['evaluation_wall_s'] / 60:.1f} min.", "",
        "| model | parameters | size (MB) | latency (ms, 1 img, 1 thread) | train time (s) | val accuracy | val macro-F1 | kappa | AUC (macro) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in r["models"]:
        lines.append(f"| {m['name']} | {m['params']:,} | {m['mb']:.2f} | {m['latency_ms']:.2f} | {m['seconds']:.0f} | "
                     f"{m['acc']:.4f} | {m['macro_f1']:.4f} | {m['kappa']:.4f} | {m['auc']:.4f} |")
    ep = ", ".join(f"{k}: {v}" for k, v in r["epochs_run"].items())
    lines += ["", f"Epochs actually run (budget or plan): {ep}."]
    if r.get("stage_wall_s"):
        lines.append("Wall time of each training process (data loading included): "
                     + ", ".join(f"{k} {v / 60:.1f} min" for k, v in r["stage_wall_s"].items()) + ".")
    ts = r.get("transfer_stages")
    if ts:
        lines.append(f"VGG16 stages: CIFAR-10 pretraining {ts['pretrain_val_acc']:.1%} on held-out CIFAR-10 images; a head on the "
                     f"frozen, cached features {ts['head_val_acc']:.1%} FER validation accuracy; after fine-tuning "
                     + (f"{ts['finetune_val_acc']:.1%}." if ts["finetune_val_acc"] is not None else "(not run).")
                     + ({"head": " The head-only model is kept (better on validation).",
                         "finetune": " The fine-tuned model is kept."}.get(ts.get("kept"), "")))
    lines.append("")
    target = "met" if best["acc"] >= 0.55 else "NOT met"
    lines.append(f"Best: {best['name']} with {best['acc']:.2%} validation accuracy (macro-F1 {best['macro_f1']:.4f}): "
                 f"the ≥ 55% target is **{target}**.")
    imp = r.get("improvement")
    if imp:
        lines.append(f"Flip test-time augmentation on {imp['model']}: accuracy {imp['acc_before']:.4f} -> {imp['acc_after']:.4f}, "
                     f"macro-F1 {imp['macro_f1_before']:.4f} -> {imp['macro_f1_after']:.4f}.")
    lines += ["", "Anchors (literature, not measured here): " + "; ".join(f"{k}: {v}" for k, v in ANCHORS) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
