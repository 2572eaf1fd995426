"""Benchmark: cnn-cifar10 with a preset, end to end through the normal runner (issue #18, item 2).

    PYTHONPATH=. python benchmarks/cifar10_preset.py --preset cpu     # every part of hw4.p2; target <= 2 hours here

Measures the whole experiment as a user runs it (`tamrin run cnn-cifar10 --preset cpu`, PDF included): data loading,
every budgeted training, TTA evaluations, latency and ONNX measurements, the report. Writes
benchmarks/results/cifar10_preset_<preset>.json and benchmarks/cifar10_preset_<preset>.md; the compared models
(32-pixel input) are also merged into benchmarks/results/cifar10_budget.json as budgeted runs of the same
45,000 / 5,000 split (source "cnn-cifar10 --preset cpu"), so the time-to-accuracy table shows their budgets.
Run it alone on the machine: the budgets are wall-clock, so a shared machine fits fewer steps into them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cifar10_budget import OUT as BUDGET_JSON  # noqa: E402
from cifar10_budget import load_results, machine, merge  # noqa: E402

LIMIT_S = 2 * 3600  # the target for --preset cpu on the 2-core course CPU


def curves(run_dir: Path) -> dict[str, list]:
    """Per training tag: [[elapsed s, validation accuracy], ...] from the run's metrics log."""
    out: dict[str, list] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "val_acc" in r and "elapsed_s" in r and r.get("tag"):
            out.setdefault(r["tag"], []).append([round(r["elapsed_s"], 1), r["val_acc"]])
    return out


def trainings(results: dict) -> list[dict]:
    """Every training of the run once (the sweeps reuse the compared model where the setting is equal)."""
    seen, rows = set(), []
    for part in ("models", "width_sweep", "size_sweep"):
        for r in results[part]:
            if r["tag"] not in seen:
                seen.add(r["tag"])
                rows.append({"part": part, **{k: r.get(k) for k in ("tag", "model", "width", "size", "budget_s", "train_s",
                                                                   "epochs", "steps", "val_acc", "val_tta_acc", "amp", "threads")}})
    return rows


def _round(v):
    return None if v is None else round(v, 2)


def trainings_from_metrics(run_dir: Path, cfg) -> list[dict]:
    """The finished trainings of an interrupted run, from its metrics log (no TTA: that comes after training)."""
    by_tag: dict[str, list] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("tag") and "val_acc" in r:
            by_tag.setdefault(r["tag"], []).append(r)
    threads = json.loads((run_dir / "env.json").read_text()).get("torch_threads")
    rows = []
    for tag, h in by_tag.items():
        model = tag.split("_a")[0].split("_r")[0] if tag not in cfg.models else tag
        part = "models" if tag in cfg.models else ("width_sweep" if "_a" in tag else "size_sweep")
        tc = cfg.fast_train if model == "fast_cnn" else cfg.train
        budget = tc.budget_s if part == "models" else (cfg.sweep_budget_s or tc.budget_s)
        width = cfg.fast_width if model == "fast_cnn" else cfg.width
        if part == "width_sweep":
            width = float(tag.rsplit("_a", 1)[1])
        size = int(tag.rsplit("_r", 1)[1]) if part == "size_sweep" else 32
        best = max(h, key=lambda r: r["val_acc"])  # first of tied maxima, as fit keeps
        rows.append({"part": part, "tag": tag, "model": model, "width": width, "size": size, "budget_s": budget,
                     "train_s": h[-1]["elapsed_s"], "epochs": len(h), "steps": h[-1].get("steps"), "val_acc": best["val_acc"],
                     "val_tta_acc": None, "amp": tc.amp, "threads": threads})
    return rows


def budget_rows(rows: list[dict], curve: dict, mach: dict, preset: str, date: str, commit: str | None, load: tuple) -> list[dict]:
    """The compared models as runs of benchmarks/results/cifar10_budget.json."""
    out = []
    for r in rows:
        if r["part"] != "models" or r["size"] != 32 or not r["budget_s"]:
            continue
        out.append({"model": r["model"], "width": r["width"], "budget_s": r["budget_s"], "train_s": round(r["train_s"], 1),
                    "val_acc": r["val_acc"] if r["val_tta_acc"] is None else r["val_tta_acc"], "val_acc_no_tta": r["val_acc"],
                    "tta": 0 if r["val_tta_acc"] is None else 2, "eval_s": None,
                    "epochs": r["epochs"], "steps": r["steps"], "amp": r["amp"], "threads": r["threads"],
                    "curve": curve.get(r["tag"], []), "load_avg_start": _round(load[0]), "load_avg_end": _round(load[1]),
                    "date": date, "commit": commit, "machine": mach, "source": f"cnn-cifar10 --preset {preset}"})
    return out


def table(res: dict) -> str:
    m = res["machine"]
    if not res.get("complete", True):
        return interrupted_table(res)
    verdict = "met" if res["wall_s"] <= LIMIT_S else "NOT met"
    lines = [f"# cnn-cifar10 --preset {res['preset']} end to end (benchmarks/cifar10_preset.py)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, native bf16: {m['native_bf16']}, torch {m['torch']}; "
             f"{res['date'][:10]}; load average {res['load_avg_start']:.2f} at start, {res['load_avg_end']:.2f} at end."
             + (f" {res['note']}" if res.get("note") else ""), "",
             f"Whole run (data, {len(res['trainings'])} trainings, TTA evaluations, latency/ONNX, report"
             f"{' and PDF' if res['pdf'] else ''}): "
             f"**{res['wall_s'] / 60:.1f} min**; of it training {sum(r['train_s'] for r in res['trainings']) / 60:.1f} min "
             f"(budgets {sum(r['budget_s'] or 0 for r in res['trainings']) / 60:.1f} min). "
             f"Target <= {LIMIT_S // 3600} hours: {verdict}.", "",
             "| part | training | width | input px | budget s | train s | epochs | steps | val acc | val acc (TTA) | bf16 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in res["trainings"]:
        tta = f"{r['val_tta_acc']:.2%}" if r.get("val_tta_acc") is not None else ""
        lines.append(f"| {r['part']} | {r['tag']} | {r['width']:g} | {r['size']} | {r['budget_s'] or 0:g} | {r['train_s']:.0f} | "
                     f"{r['epochs']} | {r['steps']} | {r['val_acc']:.2%} | {tta} | {'yes' if r['amp'] else 'no'} |")
    lines += ["", f"Validation: {res['n_val']:,} images of the CIFAR-10 training split (stratified, seed 0), "
              f"{res['n_train']:,} for training; "
              "the sweeps are scored without TTA. Reproduce: `PYTHONPATH=. python benchmarks/cifar10_preset.py --preset "
              f"{res['preset']}` (or `tamrin run cnn-cifar10 --preset {res['preset']}`)."]
    return "\n".join(lines) + "\n"


def interrupted_table(res: dict) -> str:
    m, rows = res["machine"], res["trainings"]
    lines = [f"# cnn-cifar10 --preset {res['preset']}: an interrupted run (benchmarks/cifar10_preset.py)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, native bf16: {m['native_bf16']}, torch {m['torch']}; {res['date'][:10]}.", "",
             f"The run was stopped before its end; its last record came {res['wall_s'] / 60:.1f} min after its start, with "
             f"{len(rows)} training(s) logged. {res.get('note', '')} The end-to-end "
             f"time is therefore **not measured** (target <= {LIMIT_S // 3600} hours). The rows are read from its metrics "
             "log: validation accuracy of the kept epoch, without test-time augmentation (that pass comes after training).", "",
             "| part | training | width | input px | budget s | train s | epochs | steps | val acc | bf16 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['part']} | {r['tag']} | {r['width']:g} | {r['size']} | {r['budget_s'] or 0:g} | {r['train_s']:.0f} | "
                     f"{r['epochs']} | {r['steps']} | {r['val_acc']:.2%} | {'yes' if r['amp'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from tamrin.experiment_runner import run_experiment
    from tamrin.registry import get
    from tamrin.runs import atomic_write_json, atomic_write_text, git_commit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-cifar10-preset"))
    ap.add_argument("--no-pdf", action="store_true")
    ap.add_argument("--note", default="", help="a sentence on the run's conditions, printed in the table")
    ap.add_argument("--interrupted", type=Path, metavar="RUN_DIR",
                    help="record the finished trainings of a run that was stopped before its end (from its metrics log)")
    ap.add_argument("--md-only", type=Path, metavar="RESULTS_JSON", help="re-render the table of a saved run's results")
    args = ap.parse_args(argv)
    if args.md_only:
        atomic_write_text(ROOT / "benchmarks" / f"{args.md_only.stem}.md", table(json.loads(args.md_only.read_text())))
        return 0
    exp = get("cnn-cifar10")
    cfg = exp.default_config(preset=args.preset)
    if args.interrupted:
        run_dir = args.interrupted
        files = [p for p in run_dir.rglob("*") if p.is_file()]
        t_start = (run_dir / "run.json").stat().st_mtime
        wall, load0, load1 = max(p.stat().st_mtime for p in files) - t_start, None, None  # the load was not recorded
        rows = trainings_from_metrics(run_dir, cfg)
    else:
        load0, t0 = os.getloadavg()[0], time.time()
        run_dir = run_experiment(exp, cfg, Path(args.out), pdf=not args.no_pdf, preset=args.preset)
        wall = time.time() - t0
        load1 = os.getloadavg()[0]
        rows = trainings(json.loads((run_dir / "results.json").read_text()))
    n = cfg.subset or 50000  # the CIFAR-10 training split, or the configured stratified subset
    date, commit, mach = time.strftime("%Y-%m-%dT%H:%M:%S%z"), git_commit(), machine()
    res = {"preset": args.preset, "machine": mach, "date": date, "commit": commit, "wall_s": round(wall, 1),
           "load_avg_start": _round(load0), "load_avg_end": _round(load1), "run_dir": os.path.relpath(run_dir, ROOT),
           "pdf": not args.no_pdf and not args.interrupted, "note": args.note, "complete": not args.interrupted, "n_train": n - round(n * cfg.val_fraction), "n_val": round(n * cfg.val_fraction),
           "trainings": rows}
    atomic_write_json(ROOT / "benchmarks" / "results" / f"cifar10_preset_{args.preset}.json", res)
    text = table(res)
    atomic_write_text(ROOT / "benchmarks" / f"cifar10_preset_{args.preset}.md", text)
    budget = load_results()
    for row in budget_rows(rows, curves(run_dir), mach, args.preset, date, commit, (load0, load1)):
        budget["runs"] = merge(budget["runs"], row)
    atomic_write_json(BUDGET_JSON, budget)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
