"""Benchmark: supervised FF, unsupervised FF + linear read-out and the backprop MLP on MNIST.

    PYTHONPATH=. python benchmarks/ff.py            # the default configs (what the table reports)
    PYTHONPATH=. python benchmarks/ff.py --quick    # the --quick presets, a smoke test
    PYTHONPATH=. python benchmarks/ff.py --set train.epochs=10 --only supervised

Runs both experiments through the normal runner (run folders under runs/bench-ff/), then writes
benchmarks/results/ff.json and the table benchmarks/ff.md from the numbers those runs computed.
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

from tamrin.config import apply_overrides  # noqa: E402
from tamrin.experiment_runner import run_experiment  # noqa: E402
from tamrin.registry import get  # noqa: E402
from tamrin.runs import atomic_write_json, atomic_write_text, environment  # noqa: E402

EXPS = {"supervised": "ff-supervised", "unsupervised": "ff-unsupervised"}


def pct(v):
    return f"{100 * v:.2f}%"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=list(EXPS))
    ap.add_argument("--set", dest="sets", action="append", default=[], help="config override for both experiments")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-ff"))
    ap.add_argument("--md-only", action="store_true", help="re-render benchmarks/ff.md from results/ff.json, no training")
    ap.add_argument("--name", default="", help="results go to benchmarks/results/ff<NAME>.json and benchmarks/ff<NAME>.md")
    args = ap.parse_args(argv)
    if args.md_only:
        saved = json.loads((ROOT / "benchmarks" / "results" / "ff.json").read_text())
        atomic_write_text(ROOT / "benchmarks" / "ff.md", table(saved) + other_runs())
        return 0
    load_before = os.getloadavg()
    results = {"env": environment(0), "load_average_at_start": load_before, "quick": args.quick, "experiments": {}}
    for key, name in EXPS.items():
        if args.only and key != args.only:
            continue
        exp = get(name)
        cfg = apply_overrides(exp.default_config(quick=args.quick), args.sets)
        t0 = time.time()
        run_dir = run_experiment(exp, cfg, Path(args.out), pdf=False)
        wall = time.time() - t0
        data = json.loads((run_dir / "results.json").read_text())
        results["experiments"][key] = {"run_dir": str(run_dir), "wall_seconds": wall, **data}
        print(f"{name}: {wall:.0f} s, results in {run_dir}", file=sys.stderr)
    results["load_average_at_end"] = os.getloadavg()
    suffix = args.name or ("_quick" if args.quick else "")
    results["overrides"] = args.sets
    peers = ROOT / "benchmarks" / "results" / "ff_peers.json"
    if not suffix and peers.exists():  # the epoch times of tamrin and loeweX measured side by side (benchmarks/ff_peers.py)
        results["sec_per_epoch"] = {"measured_by": "benchmarks/ff_peers.py", **json.loads(peers.read_text())["sec_per_epoch"]}
    atomic_write_json(ROOT / "benchmarks" / "results" / f"ff{suffix}.json", results)
    text = table(results) + (other_runs() if not suffix else "")
    atomic_write_text(ROOT / "benchmarks" / f"ff{suffix}.md", text)
    print(text)
    differ = compare_saved(results)[1]
    if differ:  # recorded numbers that no longer reproduce must not stand silently in BENCHMARKS.md
        print(f"FAILED: the saved runs {', '.join(differ)} no longer reproduce with this code; re-run them or remove them",
              file=sys.stderr)
        return 1
    return 0


def table(results: dict) -> str:
    lines = ["# Forward-Forward on MNIST (benchmarks/ff.py)", "",
             f"Machine: {results['env']['cpu_count']} CPU cores, torch {results['env']['versions'].get('torch')}; "
             f"load average at start {results['load_average_at_start'][0]:.1f}, at end {results['load_average_at_end'][0]:.1f} "
             + ("(the machine was shared with other jobs, so timings are pessimistic and noisy)."
                if max(results['load_average_at_start'][0], results['load_average_at_end'][0]) > results['env']['cpu_count'] / 2 else
                "(a quiet machine: the benchmark ran alone, one torch thread). Denormal floats are flushed during FF "
                "training (issue #18); the unsupervised default pairs hybrids label-free (pair: image, issue #16)."), "",
             "| experiment | method | train err | val err | test err | s / epoch | images / s | wall time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    sup = results["experiments"].get("supervised")
    if sup:
        r, c = sup["results"], sup["config"]
        arch = "x".join(map(str, c["hidden"]))
        lines.append(f"| supervised ({arch}, {c['train']['epochs']} ep, n_train={sup['n_train']}) | FF accumulated goodness | {pct(r['ff_train'])} | {pct(r['ff_val'])} | {pct(r['ff_test'])} | {r['ff_sec_per_epoch']:.2f} | {r['ff_images_per_s']:.0f} | {sup['wall_seconds']:.0f} s |")
        lines.append(f"| | FF one pass (neutral label + softmax) | {pct(r['onepass_train'])} | {pct(r['onepass_val'])} | {pct(r['onepass_test'])} | | | |")
        if "bp_test" in r:
            lines.append(f"| | backprop MLP | {pct(r['bp_train'])} | {pct(r['bp_val'])} | {pct(r['bp_test'])} | {r['bp_sec_per_epoch']:.2f} | {r['bp_images_per_s']:.0f} | |")
    uns = results["experiments"].get("unsupervised")
    if uns:
        r, c = uns["results"], uns["config"]
        arch = "x".join(map(str, c["hidden"]))
        lines.append(f"| unsupervised ({arch}, {c['train']['epochs']} ep, {r['blur_passes']} blur passes) | FF + linear softmax on last {c['probe_layers']} layers | {pct(r['probe_train'])} | {pct(r['probe_val'])} | {pct(r['probe_test'])} | {r['ff_sec_per_epoch']:.2f} | {r['ff_images_per_s']:.0f} | {uns['wall_seconds']:.0f} s |")
        lines.append(f"| | linear softmax on raw pixels | {pct(r['pixels_train'])} | | {pct(r['pixels_test'])} | | | |")
        if "bp_test" in r:
            lines.append(f"| | backprop MLP | {pct(r['bp_train'])} | | {pct(r['bp_test'])} | {r['bp_sec_per_epoch']:.2f} | {r['bp_images_per_s']:.0f} | |")
    lines.append("")
    for key, err, target in (("supervised", "ff_test", 1.5), ("unsupervised", "probe_test", 2.5)):
        e = results["experiments"].get(key)
        if e and "bp_test" in e["results"]:
            gap = 100 * (e["results"][err] - e["results"]["bp_test"])
            verdict = "met" if gap <= target else "NOT met"
            lines.append(f"- {key}: FF test error {pct(e['results'][err])} vs backprop {pct(e['results']['bp_test'])}: "
                         f"{gap:+.2f} points (target: within {target:g}) - {verdict}.")
    lines += ["", "Published anchors on the full 60,000-image MNIST: paper 1.36% (supervised, 4x2000, 60 epochs) and 1.37% "
              "(unsupervised); public reimplementations 1.45% and 6.84%. These runs use the 3,009-image subset in ../shared/data.", "",
              "## How the numbers were chosen", "",
              "Hyper-parameters were selected on a validation split of the training data only (300 of the 3,009 images; "
              "`benchmarks/results/ff_tuning.json` has every sweep run): Adam lr 0.01 killed the ReLUs (validation error stuck at 89%), "
              "mean-of-squares goodness learned far more slowly than sum-of-squares with θ = width, lr 0.003 plateaued higher than "
              "lr 0.001 with batch 50, and hard negatives cost twice the time without a validation gain at 30 epochs. The backprop "
              "baseline got its own learning-rate choice (0.001 of 0.0003 / 0.001 / 0.003) with the same epochs, batch and architecture. "
              "The test set (10,000 images) is used only for the final numbers. The unsupervised run reuses "
              "the supervised training settings without its own sweep (no time was left on the shared machine). "
              + epochs_text(results), "",
              reproducibility(results), "", peers_line(results), "",
              "Timings use one torch thread: with two threads on the shared, overloaded machine the same epoch ran about 30x slower "
              "(OpenMP threads spin-waiting for a core).", ""]
    return "\n".join(lines)


SKIP = ("ff_tuning", "ff_quick", "ff_peers")  # not runs of the two experiments
ERR_KEYS = {"supervised": ("ff_test", "onepass_test", "bp_test"), "unsupervised": ("probe_test", "pixels_test", "bp_test")}


def same_setup(a: dict, b: dict) -> bool:
    return {k: v for k, v in a["config"].items() if k not in ("threads", "device")} == \
        {k: v for k, v in b["config"].items() if k not in ("threads", "device")}


def compare_saved(results: dict) -> tuple[list[str], list[str]]:
    """(saved runs of the same configuration with identical error rates, those with different ones)."""
    same, differ = [], []
    for p in sorted((ROOT / "benchmarks" / "results").glob("ff_*.json")):
        if p.stem in SKIP:
            continue
        saved = json.loads(p.read_text())["experiments"]
        for key, e in results["experiments"].items():
            if key in saved and same_setup(e, saved[key]):
                keys = [k for k in ERR_KEYS[key] if k in e["results"] and k in saved[key]["results"]]
                (same if all(e["results"][k] == saved[key]["results"][k] for k in keys) else differ).append(f"{p.name} ({key})")
    return same, differ


def epochs_text(results: dict) -> str:
    """Why 60 supervised epochs: the 30-epoch run (ff_30ep.json) against this one, both from their saved numbers."""
    p = ROOT / "benchmarks" / "results" / "ff_30ep.json"
    sup = results["experiments"].get("supervised")
    if not p.exists() or not sup:
        return ""
    r30, n_val = json.loads(p.read_text())["experiments"]["supervised"]["results"], sup["n_val"]
    r = sup["results"]
    gap30 = 100 * (r30["ff_test"] - r30["bp_test"])
    images = round(abs(r30["ff_val"] - r["ff_val"]) * n_val)
    return (f"In full honesty: the supervised default was first 30 epochs; that run (ff_30ep.json below, re-measured with "
            f"this code) is {gap30:+.2f} points from backprop on test (target: within 1.5, "
            f"{'met' if gap30 <= 1.5 else 'NOT met'}), and the default was raised to 60, the paper's number of epochs. "
            f"On the validation split 60 epochs give {pct(r['ff_val'])} FF error against {pct(r30['ff_val'])} after 30 "
            f"({images} image{'s' if images != 1 else ''} of {n_val}), "
            + ("so the choice rests on validation, not on the test set." if images >= 3 else
               "a weak signal, so read the 60-epoch choice with that caveat."))


def peers_line(results: dict) -> str:
    s = results.get("sec_per_epoch")
    if not s:
        return "Epoch time next to loeweX/Forward-Forward: not measured (benchmarks/ff_peers.py)."
    return (f"Epoch time next to loeweX/Forward-Forward at equal widths, one run, one thread (benchmarks/ff_peers.md): tamrin "
            f"{s['tamrin']:.3f} s, loeweX {s['loewex']:.3f} s at its default batch 100 ({s['loewex'] / s['tamrin']:.2f}x) and "
            f"{s['loewex_b50']:.3f} s at tamrin's batch 50 ({s['loewex_b50'] / s['tamrin']:.2f}x).")


def reproducibility(results: dict) -> str:
    """This run's error rates against every saved run of the same configuration: generated, never asserted."""
    same, differ = compare_saved(results)
    if not same and not differ:
        return "Reproducibility: no saved run has this run's configuration, so nothing was compared."
    text = "Reproducibility (fixed seeds, one thread; compared with the saved runs of the same configuration): "
    if same:
        text += "identical error rates to " + ", ".join(same) + "; only the timings differ"
    if differ:
        text += ("; " if same else "") + "DIFFERENT error rates from " + ", ".join(differ) + " (the code changed since they were saved)"
    return text + "."


def other_runs() -> str:
    """The other saved benchmark runs (other epochs), formatted from their JSON files."""
    lines = []
    for p in sorted((ROOT / "benchmarks" / "results").glob("ff_*.json")):
        if p.stem in SKIP:
            continue
        r = json.loads(p.read_text())
        for key, err in (("supervised", "ff_test"), ("unsupervised", "probe_test")):
            e = r["experiments"].get(key)
            if e:
                res, c = e["results"], e["config"]
                lines.append(f"| {p.name} | {key} | {'x'.join(map(str, c['hidden']))} | {c['train']['epochs']} | {pct(res[err])} | "
                             f"{pct(res['bp_test']) if 'bp_test' in res else ''} | {e['wall_seconds']:.0f} s |")
    if not lines:
        return ""
    return "\n".join(["", "## Other saved runs", "", "| file | experiment | layers | epochs | FF test err | backprop test err | wall time |",
                      "| --- | --- | --- | --- | --- | --- | --- |", *lines, ""])


if __name__ == "__main__":
    raise SystemExit(main())
