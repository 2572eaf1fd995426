"""Benchmark: rnn-sentiment on SST-5 — dev accuracy and training time of every model, the preset's wall time,
and the NumPy LSTM's step time (tamrin.scratch.rnn, forward + backward) against torch.nn.LSTM on the same shapes.

    PYTHONPATH=. python benchmarks/rnn_sentiment.py [--quick] [--set models=[lstm,lstm@phrase]] [--run-dir DIR]

Runs `tamrin run rnn-sentiment` (the full preset unless --quick) through the CLI in a subprocess with ONE thread,
times it, then reads the run's results.json. --run-dir collects an already finished run instead of training again.
Writes benchmarks/results/rnn_sentiment.json (or --out).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the --quick preset")
    ap.add_argument("--set", action="append", default=[], help="config overrides passed to tamrin run (key=value)")
    ap.add_argument("--run-dir", default="", help="collect this finished run folder instead of running")
    ap.add_argument("--repeats", type=int, default=7, help="timed LSTM steps of each implementation")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rnn_sentiment.json"))
    ap.add_argument("--notes", default="benchmarks/rnn_sentiment.md", help="where to write the BENCHMARKS.md section (benchmarks/collect.py gathers it)")
    return ap.parse_args()


def lstm_step_times(repeats: int, n=32, t=20, d=100, h=128, seed=0) -> dict:
    """Forward + backward of a whole (N, T, D) sequence through one LSTM layer, float32, one thread; the runs of
    the two implementations are interleaved so a busy machine slows both alike. Medians."""
    import numpy as np
    import torch

    from tamrin.scratch import rnn as R

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    h0 = np.zeros((n, h), np.float32)
    Wx, Wh = (rng.standard_normal((d, 4 * h)) * 0.1).astype(np.float32), (rng.standard_normal((h, 4 * h)) * 0.1).astype(np.float32)
    b = np.zeros(4 * h, np.float32)
    dout = rng.standard_normal((n, t, h)).astype(np.float32)
    mod = torch.nn.LSTM(d, h, batch_first=True)
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        mod.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        mod.bias_ih_l0.zero_()
        mod.bias_hh_l0.zero_()
    xt, dt_ = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)

    def ours():
        hs, cache = R.lstm_forward(x, h0, Wx, Wh, b)
        R.lstm_backward(dout, cache)
        return hs

    def theirs():
        mod.zero_grad()
        out, _ = mod(xt)
        out.backward(dt_)
        return out

    diff = float(np.abs(ours() - theirs().detach().numpy()).max())
    mine, ref = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        mine.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs()
        ref.append(time.perf_counter() - t0)
    m, r = statistics.median(mine), statistics.median(ref)
    return {"shape": {"N": n, "T": t, "D": d, "H": h, "dtype": "float32"}, "numpy_s": m, "torch_s": r,
            "numpy_per_step_ms": 1000 * m / t, "torch_per_step_ms": 1000 * r / t, "time_ratio": m / r,
            "max_abs_output_difference": diff, "repeats": repeats}


def markdown(r: dict) -> str:
    """The BENCHMARKS.md section, every number formatted from the result."""
    st = r["lstm_step"]
    lines = ["## rnn-sentiment: recurrent networks on SST-5 (sentence sentiment, 5 classes)", "",
             f"- Command: `{r['command']}` ({r['preset']} preset; trains every model through `tamrin run rnn-sentiment`).",
             f"- Machine: 2-core CPU, no GPU, {'shared with other jobs' if r['machine']['load_average_1m_at_end'] > 1.5 else 'the benchmark alone'} (1-minute load average {r['machine']['load_average_1m_at_end']:.1f} "
             f"at the end), 1 thread; date {r['date_utc']}.",
             "- Data: official SST train split for training, official dev split for model selection and the numbers below; "
             "the official test split is not on this machine, so no test number is reported.",
             "- Embeddings randomly initialised (no pretrained vectors).", ""]
    if r.get("preset_wall_s") is not None:
        cpu = f", {r['preset_cpu_s']:.0f} s of CPU time" if r.get("preset_cpu_s") else ""
        lines.append(f"Whole preset (training, evaluation, report): {r['preset_wall_s']:.0f} s wall{cpu}.")
        lines.append("")
    lines += ["| model | trained on | parameters | epochs | optimizer steps | best epoch | train acc | dev acc | dev macro-F1 | training time (s) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in r["models"]:
        lines.append(f"| {m['model']} | {m['train_examples']:,} {m['level']}s | {m['params']:,} | {m['epochs']} | {m['steps']:,} | "
                     f"{m['best_epoch']} | {m['train_acc']:.4f} | **{m['dev_acc']:.4f}** | {m['dev_macro_f1']:.4f} | {m['train_seconds']:.1f} |")
    met = "met" if r["target_met"] else "NOT met"
    lines += ["", f"- Target: best model ≥ {r['target_dev_acc']:.0%} dev accuracy. Best: **{r['best']}** with "
                  f"{r['best_dev_acc']:.2%}: target {met}.",
              "- Anchors (official TEST split, with tuned recipes; not comparable one-to-one with our dev numbers): "
              "Socher et al. 2013 RNTN 45.7%, Tai et al. 2015 LSTM 46.4% and BiLSTM 49.1% with GloVe vectors.",
              f"- NumPy LSTM (tamrin.scratch.rnn, forward + backward through time) vs torch.nn.LSTM, same shapes "
              f"(N={st['shape']['N']}, T={st['shape']['T']}, D={st['shape']['D']}, H={st['shape']['H']}, {st['shape']['dtype']}), "
              f"1 thread, {st['repeats']} interleaved runs, medians: NumPy {st['numpy_s'] * 1000:.1f} ms "
              f"({st['numpy_per_step_ms']:.2f} ms per time step), torch {st['torch_s'] * 1000:.1f} ms "
              f"({st['torch_per_step_ms']:.2f} ms per step): ratio **{st['time_ratio']:.2f}x**; "
              f"largest output difference {st['max_abs_output_difference']:.1e}.", ""]
    return "\n".join(lines)


def main():
    args = _parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, str(ROOT))
    from tamrin.runs import atomic_write_json

    wall = cpu = None
    cmd = [sys.executable, "-m", "tamrin.cli", "run", "rnn-sentiment"] + (["--quick"] if args.quick else [])
    for s in args.set:
        cmd += ["--set", s]
    if args.run_dir:
        run_dir = Path(args.run_dir)
    else:
        out = Path(tempfile.mkdtemp(prefix="rnn_bench_"))
        t0 = time.perf_counter()
        subprocess.run(cmd + ["--out", str(out)], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t0
        # CPU seconds of the run: on a shared machine the wall time also counts the time other jobs held the cores
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ru.ru_utime + ru.ru_stime
        (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    res = json.loads((run_dir / "results.json").read_text())
    cfg_text = (run_dir / "config.yaml").read_text()
    steps = lstm_step_times(args.repeats)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {
        "benchmark": "rnn-sentiment on SST-5 (official train/dev), models selected on dev; NumPy LSTM vs torch.nn.LSTM step time",
        "command": "PYTHONPATH=. python benchmarks/rnn_sentiment.py" + (" --quick" if args.quick else "")
                   + "".join(f" --set {s}" for s in args.set),
        "preset": "quick" if args.quick else "full",
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "threads": 1, "load_average_1m_at_end": load},
        "preset_wall_s": wall, "preset_cpu_s": cpu, "run_dir": str(run_dir), "config_yaml": cfg_text,
        "models": [{k: m[k] for k in ("model", "description", "level", "params", "train_examples", "epochs", "steps", "best_epoch",
                                      "train_acc", "dev_acc", "dev_macro_f1", "train_seconds") if k in m} for m in res["models"]],
        "best": res["best"], "best_dev_acc": max(m["dev_acc"] for m in res["models"]),
        "target_dev_acc": 0.42, "lstm_step": steps,
    }
    result["target_met"] = result["best_dev_acc"] >= 0.42
    if args.run_dir:  # collected: the wall time is the one the run recorded itself
        meta = json.loads((run_dir / "run.json").read_text())
        result["preset_wall_s"] = meta.get("seconds")
    atomic_write_json(args.out, result)
    if args.notes:
        Path(args.notes).write_text(markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k not in ("config_yaml",)}, indent=1))


if __name__ == "__main__":
    main()
