"""Benchmark: `make demo` (`tamrin run all --quick`) end to end, per experiment (issue #18, item 5: <= 10 minutes).

    PYTHONPATH=. python benchmarks/demo.py                 # runs the demo, alone on the machine, and records it
    PYTHONPATH=. python benchmarks/demo.py --from RUN_DIR  # records a demo run that has already finished

Per experiment: the seconds its run.json records; before them the answer key, after them the combined report
(HTML, notebook, PDF), both from file times. Writes benchmarks/results/demo.json (one entry per kind of CPU:
without native bf16 the fixed-budget trainings fit fewer steps and every other part takes longer) and
benchmarks/demo.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from cifar10_budget import cpu_label, machine  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "demo.json"
LIMIT_S = 600


def record(run_dir: Path, wall_s: float | None = None) -> dict:
    """Timing of a finished `tamrin run all` folder (start: the folder's name; end: the combined PDF, else HTML)."""
    info = json.loads((run_dir / "run.json").read_text())
    if info.get("status") != "done":
        raise SystemExit(f"{run_dir} is not a finished run (status {info.get('status')!r})")
    start = datetime.strptime("-".join(run_dir.name.split("-")[:2]), "%Y%m%d-%H%M%S").timestamp()
    end_file = next(p for p in (run_dir / "report.pdf", run_dir / "report.html") if p.exists())
    parts = []
    for name in info["experiments"]:
        meta = json.loads((run_dir / name / "run.json").read_text())
        parts.append({"experiment": name, "preset": meta.get("preset"), "seconds": round(meta["seconds"], 1)})
    answers = run_dir / "answers" / "answers.json"
    last_child = max((run_dir / n / "run.json").stat().st_mtime for n in info["experiments"])
    return {"run_dir": run_dir.name, "experiments": parts,
            "answers_s": round(answers.stat().st_mtime - start, 1) if answers.exists() else None,
            "combined_report_s": round(end_file.stat().st_mtime - last_child, 1),
            "wall_s": round(wall_s if wall_s is not None else end_file.stat().st_mtime - start, 1),
            "wall_from": "the process's wall clock" if wall_s is not None else "file times (second resolution)",
            "failures": info.get("failures", [])}


def write_md(res: dict) -> str:
    lines = ["# `make demo`: `tamrin run all --quick` end to end (benchmarks/demo.py)", "",
             f"Target: <= {LIMIT_S // 60} minutes on the 2-core machine (issue #18). Each row ran alone on the machine.", ""]
    for entry in res["runs"]:
        m = entry["machine"]
        verdict = "met" if entry["wall_s"] <= LIMIT_S else "NOT met"
        lines += [f"## {cpu_label(m)}, {entry['date'][:10]}: **{entry['wall_s'] / 60:.1f} min** (target {verdict})", "",
                  (f"Load average {entry['load_avg_start']} at start, {entry['load_avg_end']} at end; "
                   if entry["load_avg_end"] is not None else "Load average not recorded; ") + f"commit {entry['commit']}; "
                  f"wall time from {entry['wall_from']}. {entry.get('note', '')}".rstrip(), "",
                  "| part | seconds |", "| --- | ---: |"]
        if entry.get("answers_s") is not None:
            lines.append(f"| answer key (every checkable question) | {entry['answers_s']:.0f} |")
        for p in sorted(entry["experiments"], key=lambda p: -p["seconds"]):
            lines.append(f"| {p['experiment']} ({p['preset']}) | {p['seconds']:.0f} |")
        lines += [f"| combined report (HTML, notebook, PDF) | {entry['combined_report_s']:.0f} |", ""]
        if entry["failures"]:
            lines += [f"Failed parts: {', '.join(map(str, entry['failures']))}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from tamrin.runs import atomic_write_json, atomic_write_text, git_commit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="from_dir", type=Path, metavar="RUN_DIR", help="record a finished demo run folder")
    ap.add_argument("--wall-s", type=float, help="with --from: the run's wall time measured outside (e.g. /usr/bin/time)")
    ap.add_argument("--note", default="")
    ap.add_argument("--md-only", action="store_true")
    args = ap.parse_args(argv)
    res = json.loads(OUT.read_text()) if OUT.exists() else {"runs": []}
    if not args.md_only:
        load0 = os.getloadavg()[0]
        if args.from_dir:
            run_dir, wall = args.from_dir, args.wall_s
            load0 = None  # not seen
        else:
            t0 = time.time()
            out = subprocess.run([str(Path(sys.executable).parent / "tamrin"), "run", "all", "--quick"], cwd=ROOT,
                                 capture_output=True, text=True)
            wall = time.time() - t0
            if out.returncode:
                sys.stderr.write(out.stderr[-3000:])
                raise SystemExit(f"the demo failed (exit {out.returncode})")
            run_dir = max((ROOT / "runs").glob("*-all"), key=lambda p: p.stat().st_mtime)
        load1 = None if args.from_dir else round(os.getloadavg()[0], 2)  # a recorded run's load was not seen
        entry = {"machine": machine(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": git_commit(),
                 "load_avg_start": None if load0 is None else round(load0, 2), "load_avg_end": load1,
                 "note": args.note, **record(run_dir, wall)}
        res["runs"] = [r for r in res["runs"] if r["machine"]["native_bf16"] != entry["machine"]["native_bf16"]] + [entry]
        atomic_write_json(OUT, res)
    atomic_write_text(ROOT / "benchmarks" / "demo.md", write_md(res))
    print(write_md(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
