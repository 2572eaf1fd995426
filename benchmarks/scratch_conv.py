"""Benchmark: tamrin.scratch conv2d (NumPy im2col) vs torch.nn.functional.conv2d, forward + backward.

    PYTHONPATH=. python benchmarks/scratch_conv.py [--threads 1] [--repeats 7]

Problem (the issue's target): N=64, C_in=C_out=64, 32x32, 3x3 kernel, stride 1, padding 1, float32.
Both run in this process with the same thread count (NumPy's BLAS and torch's intra-op pool).
Runs of ours and of torch are interleaved, so a busy shared machine slows both alike; we report medians.

The naive loop version is far too slow for the full problem. We time it on N=1 at 8x8 with the full
channel counts (so every loop iteration does the same work as in the full problem) and EXTRAPOLATE
linearly in N * H_out * W_out (the loop count). That number is an estimate, and is labelled so.

Writes benchmarks/results/scratch_conv.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and for torch (default 1)")
    ap.add_argument("--repeats", type=int, default=7, help="timed runs of each implementation (default 7)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scratch_conv.json"))
    return ap.parse_args()


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    args = _parse()
    # thread counts must be fixed before NumPy's BLAS starts its pool
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    import torch.nn.functional as F

    from tamrin.runs import atomic_write_json
    from tamrin.scratch import conv2d_backward, conv2d_backward_naive, conv2d_forward, conv2d_forward_naive

    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(args.threads)
        blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)" for i in threadpool_info()
                if i["user_api"] == "blas"]
    except ImportError:
        blas = ["unknown (threadpoolctl missing; thread count set through environment variables)"]

    n, c, f, hw, k = 64, 64, 64, 32, 3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    dout = rng.standard_normal((n, f, hw, hw)).astype(np.float32)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    doutt = torch.tensor(dout)

    def ours():
        t0 = time.perf_counter()
        out, cache = conv2d_forward(x, w, b, stride=1, padding=1)
        t1 = time.perf_counter()
        grads = conv2d_backward(dout, cache)
        return t1 - t0, time.perf_counter() - t1, (out, *grads)

    def theirs():
        for t in (xt, wt, bt):
            t.grad = None
        t0 = time.perf_counter()
        out = F.conv2d(xt, wt, bt, stride=1, padding=1)
        t1 = time.perf_counter()
        out.backward(doutt)
        return t1 - t0, time.perf_counter() - t1, (out.detach(), xt.grad, wt.grad, bt.grad)

    # correctness first (float32: agreement to ~1e-4 relative is what float32 accumulation allows)
    _, _, mine = ours()
    _, _, ref = theirs()
    max_rel = max(float(np.abs(a - r.numpy()).max() / max(1e-12, float(np.abs(r.numpy()).max())))
                  for a, r in zip(mine, ref))
    del mine, ref

    times = {"ours": [], "torch": []}
    for _ in range(args.repeats):  # interleaved
        fw, bw, res = ours()
        del res
        times["ours"].append((fw, bw))
        fw, bw, res = theirs()
        del res
        times["torch"].append((fw, bw))

    def summary(rows):
        return {"forward_s": statistics.median(r[0] for r in rows), "backward_s": statistics.median(r[1] for r in rows),
                "total_s": statistics.median(r[0] + r[1] for r in rows), "total_min_s": min(r[0] + r[1] for r in rows),
                "all_totals_s": [round(r[0] + r[1], 4) for r in rows]}

    fast, ref = summary(times["ours"]), summary(times["torch"])

    # naive: full channels, reduced batch and map, extrapolated by the loop count N * H_out * W_out
    nn_, nhw = 1, 8
    xs, ds = x[:nn_, :, :nhw, :nhw].copy(), dout[:nn_, :, :nhw, :nhw].copy()
    t0 = time.perf_counter()
    _, cache = conv2d_forward_naive(xs, w, b, stride=1, padding=1)
    t1 = time.perf_counter()
    conv2d_backward_naive(ds, cache)
    t2 = time.perf_counter()
    scale = (n * hw * hw) / (nn_ * nhw * nhw)
    naive = {"measured_shape": [nn_, c, nhw, nhw], "measured_forward_s": t1 - t0, "measured_backward_s": t2 - t1,
             "extrapolation_factor": scale, "extrapolated_total_s": (t2 - t0) * scale}

    result = {
        "benchmark": "conv2d forward+backward, N=64, C_in=C_out=64, 32x32, 3x3, stride 1, pad 1, float32",
        "command": "PYTHONPATH=. python " + " ".join(["benchmarks/scratch_conv.py", *sys.argv[1:]]),
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1m_at_end": os.getloadavg()[0], "python": platform.python_version(),
                    "numpy": np.__version__, "torch": torch.__version__, "blas": blas},
        "threads": args.threads,
        "repeats": args.repeats,
        "max_relative_difference_vs_torch": max_rel,
        "fast": fast,
        "torch": ref,
        "ratio_fast_over_torch": fast["total_s"] / ref["total_s"],
        "target_ratio": 3.0,
        "naive": naive,
        "ratio_naive_extrapolated_over_torch": naive["extrapolated_total_s"] / ref["total_s"],
    }
    atomic_write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("fast", "torch", "ratio_fast_over_torch", "naive")}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
