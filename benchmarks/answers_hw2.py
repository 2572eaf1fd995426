"""Time Homework 2's part of the answer key (`tamrin answers --only hw2`): every hw2 answer computed once in
one fresh process, single-threaded, with wall and CPU time per id. The whole key (5 assignments) must stay
under 2 minutes on one thread; this is hw2's share. Writes benchmarks/results/answers_hw2.json.

    PYTHONPATH=. python benchmarks/answers_hw2.py
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch


def main():
    torch.set_num_threads(1)
    t_import = time.perf_counter()
    from tamrin import answers, course

    ids = [q.id for q in course.questions("hw2") if q.answer]
    funcs = answers.registered()
    import_s = time.perf_counter() - t_import
    rows = []
    with tempfile.TemporaryDirectory() as out:
        ctx = answers.Context(out)
        for qid in ids:
            c0, w0 = time.process_time(), time.perf_counter()
            rec = answers.compute(qid, ctx)
            rows.append({"id": qid, "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                         "checks_passed": sum(c["passed"] for c in rec["checks"]), "checks": len(rec["checks"])})
            assert qid in funcs
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0],
           "platform": platform.platform(), "torch": torch.__version__, "import_s": import_s,
           "total_wall_s": sum(r["wall_s"] for r in rows), "total_cpu_s": sum(r["cpu_s"] for r in rows), "rows": rows}
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/results/answers_hw2.json").write_text(json.dumps(res, indent=2))
    for r in rows:
        print(f"{r['id']:<9} wall {r['wall_s']:6.3f} s  cpu {r['cpu_s']:6.3f} s  checks {r['checks_passed']}/{r['checks']}")
    print(f"total wall {res['total_wall_s']:.1f} s, cpu {res['total_cpu_s']:.1f} s (imports {import_s:.1f} s), "
          f"load average {res['load_avg_1min']:.1f} on {res['cpus']} CPUs")


if __name__ == "__main__":
    main()
