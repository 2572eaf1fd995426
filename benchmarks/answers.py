"""Time the answer key (`tamrin answers`): every answer computed once in one fresh process, single-threaded,
with wall and CPU time per id. Target (issue #14): the whole key under 2 minutes on one thread.
Writes benchmarks/results/answers.json.

    PYTHONPATH=. python benchmarks/answers.py [ASSIGNMENT ...]
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch


def table(r: dict) -> str:
    rows, by = r["rows"], {}
    for x in rows:
        d = by.setdefault(x["id"].split(".")[0], [0, 0.0, 0, 0])
        d[0] += 1; d[1] += x["wall_s"]; d[2] += x["checks_passed"]; d[3] += x["checks"]  # noqa: E702
    met = r["total_wall_s"] < 120
    slow = sorted(rows, key=lambda x: -x["wall_s"])[:5]
    lines = ["## Answer key: `tamrin answers` (issue #14)", "",
             "Command: `PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/answers.py` (one fresh process, one thread; results in",
             "`benchmarks/results/answers.json`). Machine: 2-core x86_64 CPU, no GPU, shared with other jobs (1-minute load average",
             f"{r['load_avg_1min']:.1f}). Date: {r['date'][:10]}. Target: the whole key in under 2 minutes on one thread — "
             f"**{'met' if met else 'NOT met'}: {r['total_wall_s']:.1f} s wall, {r['total_cpu_s']:.1f} s CPU** for {len(rows)} answers.", "",
             "| assignment | answers | wall (s) | independent checks passed |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {n} | {w:.1f} | {cp}/{c} |" for a, (n, w, cp, c) in by.items()]
    lines += [f"| **total** | **{len(rows)}** | **{r['total_wall_s']:.1f}** | **{sum(x['checks_passed'] for x in rows)}/"
              f"{sum(x['checks'] for x in rows)}** |", "",
              "The slowest answers are the measured ones: " + ", ".join(f"{x['id']} {x['wall_s']:.2f} s" for x in slow) + ".", ""]
    return "\n".join(lines)


def main():
    torch.set_num_threads(1)
    t_import = time.perf_counter()
    from tamrin import answers, course

    funcs = answers.registered()
    ids = [q.id for q in course.select(sys.argv[1:] or None) if q.id in funcs]
    import_s = time.perf_counter() - t_import
    rows = []
    with tempfile.TemporaryDirectory() as out:
        ctx = answers.Context(out)
        for qid in ids:
            c0, w0 = time.process_time(), time.perf_counter()
            rec = answers.compute(qid, ctx)
            rows.append({"id": qid, "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                         "checks_passed": sum(c["passed"] for c in rec["checks"]), "checks": len(rec["checks"])})
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0],
           "platform": platform.platform(), "torch": torch.__version__, "import_s": import_s,
           "total_wall_s": sum(r["wall_s"] for r in rows), "total_cpu_s": sum(r["cpu_s"] for r in rows), "rows": rows}
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/results/answers.json").write_text(json.dumps(res, indent=2))
    if not sys.argv[1:]:  # the whole key: also the BENCHMARKS table
        Path("benchmarks/answers.md").write_text(table(res))
    for r in rows:
        print(f"{r['id']:<9} wall {r['wall_s']:6.3f} s  cpu {r['cpu_s']:6.3f} s  checks {r['checks_passed']}/{r['checks']}")
    print(f"total wall {res['total_wall_s']:.1f} s, cpu {res['total_cpu_s']:.1f} s (imports {import_s:.1f} s), "
          f"load average {res['load_avg_1min']:.1f} on {res['cpus']} CPUs")


if __name__ == "__main__":
    main()
