"""`tamrin answers [--only hw2|hw4|p4|solA|solB|ID ...] [--format pdf,html,md,json] [--out DIR]`:
compute the answer key into a new run folder and print one line per question."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tamrin.errors import UserError

FORMATS = ("pdf", "html", "md", "json")


def add_parser(sub) -> None:
    a = sub.add_parser("answers", help="the answer key: every checkable course question answered by computation")
    a.add_argument("--only", nargs="+", metavar="ID", help="assignments (hw2 hw4 p4 solA solB) and/or question ids")
    a.add_argument("--format", default="pdf,html,json", help="comma-separated: pdf, html, md, json (default pdf,html,json)")
    a.add_argument("--out", default="runs", help="folder for run folders (default: runs/)")
    a.add_argument("--seed", type=int, default=0)
    return a


def parse_formats(text: str) -> list[str]:
    fs = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in fs if f not in FORMATS]
    if bad or not fs:
        raise UserError(f"--format: unknown format {', '.join(bad) or repr(text)}; choose from: {', '.join(FORMATS)}")
    return fs


def compute_key(selected: list, out: Path, seed: int = 0, echo=print) -> list[dict]:
    """The answers of the selected questions (course order), one thread, one summary line each; a practical question
    is named with the experiment that answers it."""
    import torch

    from tamrin import answers
    from tamrin.answers import render

    funcs = answers.registered()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small computations: one thread is faster and reproducible
    records = []
    try:
        for q in selected:
            if q.id in funcs:
                records.append(answers.compute(q.id, answers.Context(out, seed)))
                echo(render.summary_line(records[-1]))
            else:
                echo(render.practical_line(q) if q.experiments else f"{q.id:<9} not answered yet")
    finally:
        torch.set_num_threads(threads)
    return records


def run_answers(only, formats, out_root: Path, seed: int = 0, echo=print, student=None) -> tuple[Path, list[dict]]:
    from tamrin import course
    from tamrin.answers import render
    from tamrin.runs import atomic_write_json, atomic_write_text, environment, new_run_dir

    selected = course.select(only)
    out = new_run_dir(out_root, "answers")
    t0 = time.perf_counter()
    records = compute_key(selected, out, seed, echo)
    doc = {"answers": records, "seconds": round(time.perf_counter() - t0, 2), "env": environment(seed)}
    if "json" in formats:
        atomic_write_json(out / "answers.json", doc)
    if "md" in formats:
        atomic_write_text(out / "answers.md", render.markdown(records, selected))
    secs = render.sections(records, selected)
    title, sub = "tamrin: the course's answer key", f"computed answers and checked claims · {out.name}"
    from tamrin.report.page import page_info
    from tamrin.student import Student

    page = page_info({"env": doc["env"], "assignment": "answer key: " + ", ".join(sorted({q.assignment for q in selected},
                                                                                         key=list(course.ASSIGNMENTS).index)),
                      "student": (student or Student()).to_dict()})
    if "html" in formats:
        from tamrin.report.html import render_html

        atomic_write_text(out / "answers.html", render_html(secs, out, title, sub, page))
    if "pdf" in formats:
        from tamrin.report.pdf import render_pdf
        from tamrin.runs import atomic_write_bytes

        atomic_write_bytes(out / "answers.pdf", render_pdf(secs, out, title, sub, page))
    failed = [r["id"] for r in records if not all(c["passed"] for c in r["checks"])]
    if failed:
        print(f"checks FAILED for: {', '.join(failed)}", file=sys.stderr)
    return out, records


def cmd_answers(args) -> int:
    formats = parse_formats(args.format)
    from tamrin.student import resolve

    out, records = run_answers(args.only, formats, Path(args.out), args.seed, student=resolve(args.student, args.student_id))
    print(f"answer key: {len(records)} answers in {out} ({', '.join('answers.' + f for f in formats)})")
    return 0 if all(all(c["passed"] for c in r["checks"]) for r in records) else 1
