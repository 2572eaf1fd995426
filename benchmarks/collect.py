"""Rebuild BENCHMARKS.md from the per-area tables in benchmarks/*.md (each written by its benchmark script).

    python benchmarks/collect.py
"""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["data", "scratch", "scratch_fc", "calc", "ff", "ff_peers", "cifar10_budget", "cifar10_preset_cpu", "cifar10_preset_cpu_nobf16", "cifar10", "gpu_check", "fer_budget", "fer", "fer_dead_units",
         "fer_recipes", "amp", "labs", "demo"]

HEADER = """# Benchmarks

Every number below was measured by the script named in its section, on this project's machine: x86_64,
2 CPU cores, 24 GB, no GPU. The CPU model behind it has changed between sessions (an AMD EPYC with native bf16
in some, one without AVX-512/bf16 in others): sections and rows say which they ran on. During the first round of work (most sections) the machine was **shared by up to
ten developers** (load average 9-14 on 2 cores), so absolute times there are inflated and noisy; the ratios in
each table were measured within one run of one script, side by side, which is what the comparisons rely on.
Sections state their own date and load. Raw results are
JSON files under `benchmarks/results/`. Regenerate this page with `python benchmarks/collect.py` after
re-running a benchmark.

"""


def main() -> None:
    parts = {p.stem: p for p in HERE.glob("*.md")}
    names = [n for n in ORDER if n in parts] + sorted(n for n in parts if n not in ORDER)
    body = [HEADER, "## Contents\n"]
    body += [f"- [{n}](#{n.replace('_', '-')}) — from `benchmarks/{n}.md`" for n in names]
    body.append("")
    for n in names:
        text = parts[n].read_text().strip()
        lines = text.splitlines()
        # demote the file's own headings by one level and anchor it
        lines = [("#" + ln if ln.startswith("#") else ln) for ln in lines]
        # images next to the table's .md file are linked from the repository root here
        lines = [re.sub(r"\]\((?!https?:|/|benchmarks/)([^)]+\.png)\)", r"](benchmarks/\1)", ln) for ln in lines]
        body.append(f'<a id="{n.replace("_", "-")}"></a>\n')
        body.append("\n".join(lines))
        body.append("")
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(body) + "\n")
    print(f"BENCHMARKS.md: {len(names)} sections")


if __name__ == "__main__":
    main()
