"""Why every lab runs with one BLAS thread: the labs' micro-experiments are thousands of tiny NumPy
matrix products (softmax regression, one sample to a few hundred per update). On a shared 2-core CPU,
OpenBLAS's thread hand-off costs more than the arithmetic. This times the same SGD run (batch 1 and 16,
steps-to-target loop of tamrin.labs.minibatch) with the default thread count and with 1 thread,
interleaved, and writes benchmarks/results/labs_threads.json.

    PYTHONPATH=. python benchmarks/labs_threads.py --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from tamrin.labs import minibatch
from tamrin.labs.data import small_mnist


def one(x, y, batch, lr, steps):
    t0 = time.process_time(), time.perf_counter()
    minibatch.steps_to_target(x, y, 10, batch, lr, 0.0, steps, check_every=10)  # target 0: always runs `steps`
    return time.process_time() - t0[0], time.perf_counter() - t0[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    x, y, _ = small_mnist(limit=1000)
    xf, yn = minibatch.with_bias(x.flatten(1).double().numpy()), y.numpy()
    default_threads = max((p.get("num_threads", 1) for p in threadpool_info()), default=1)
    rows = []
    for batch in (1, 16):
        times = {"default": [], "1 thread": []}
        for _ in range(args.repeats):
            times["default"].append(one(xf, yn, batch, 0.1, args.steps))
            with threadpool_limits(limits=1):
                times["1 thread"].append(one(xf, yn, batch, 0.1, args.steps))
        for k, v in times.items():
            v = np.array(v)
            rows.append({"batch": batch, "threads": k, "cpu_s_median": float(np.median(v[:, 0])), "wall_s_median": float(np.median(v[:, 1]))})
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "steps": args.steps, "repeats": args.repeats,
           "default_blas_threads": default_threads, "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0],
           "platform": platform.platform(), "numpy": np.__version__, "rows": rows}
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/results/labs_threads.json").write_text(json.dumps(out, indent=2))
    for r in rows:
        print(f"batch {r['batch']:>3} {r['threads']:>9}: cpu {r['cpu_s_median']:.3f} s, wall {r['wall_s_median']:.3f} s")
    print(f"default BLAS threads {default_threads}, load average {out['load_avg_1min']:.1f} on {out['cpus']} CPUs")


if __name__ == "__main__":
    main()
