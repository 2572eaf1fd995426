"""The answer key as report sections (HTML/PDF through tamrin.report), as Markdown, and the one-line
summaries the CLI prints. Reads only the JSON records of `tamrin.answers.compute` (and the catalogue for
practical questions answered by an experiment), so the four formats cannot disagree."""
from __future__ import annotations

from tamrin import course
from tamrin.report.sections import Section, fmt


MAX_MATRIX_COLUMNS = 12  # wider matrices are summarised (a PDF page has no room for more columns)


def _is_matrix(v) -> bool:
    return (isinstance(v, list) and bool(v) and all(isinstance(r, list) and r and all(isinstance(x, (int, float)) for x in r) for r in v)
            and len(v[0]) <= MAX_MATRIX_COLUMNS)


def _cells(row: list) -> list:
    """Whole numbers stored as floats (2.0) shown as integers, like the ones stored as ints."""
    return [int(x) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else x for x in row]


def _short(v, n: int = 60) -> str:
    if isinstance(v, dict):
        s = "; ".join(f"{k}: {_short(x, 40)}" for k, x in v.items())
        return s if len(s) <= n else s[: n - 1] + "…"
    if isinstance(v, list):
        s = "[" + ", ".join(_short(x, 12) for x in v[:6]) + (", …" if len(v) > 6 else "") + "]"
    else:
        s = fmt(v) if isinstance(v, (int, float)) or v is None else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def summary_line(rec: dict) -> str:
    """`id  short answer  [verdict]  checks` on one line."""
    first = rec["answer"].split(". ")[0].strip().rstrip(".")
    first = first if len(first) <= 70 else first[:69] + "…"
    n_ok = sum(c["passed"] for c in rec["checks"])
    v = f"  [{rec['verdict']}]" if rec.get("verdict") else ""
    return f"{rec['id']:<9} {first}{v}  (checks {n_ok}/{len(rec['checks'])})"


def practical_line(q) -> str:
    return f"{q.id:<9} practical: answered by `tamrin run {' / '.join(q.experiments)}`"


def _answer_section(rec: dict) -> Section:
    s = Section(f"{rec['id']} — {rec['question']}", level=2)
    s.blocks = answer_blocks(rec)
    return s


def answer_blocks(rec: dict) -> list:
    """The blocks of one answer: claim and verdict, the answer, its values, tables, figures, assumptions, checks."""
    s = Section("")
    if rec.get("verdict"):
        s.text(f"**The solution's claim:** {rec['claim']}")
        (s.notice if rec["verdict"] != "correct" else s.text)(f"**Verdict: {rec['verdict']}.**")
    s.text(rec["answer"])
    scalars = [[k, v] for k, v in rec["values"].items() if not _is_matrix(v)]
    if scalars:
        s.table(["quantity", "value"], [[k, v if isinstance(v, (int, float)) else _short(v, 200)] for k, v in scalars], "Computed values.")
    for k, v in rec["values"].items():
        if _is_matrix(v):
            s.table([""] + [str(j) for j in range(len(v[0]))], [[i] + _cells(r) for i, r in enumerate(v)], k)
    for t in rec.get("tables", []):
        s.table(t["columns"], t["rows"], t["caption"])
    for f in rec.get("figures", []):
        s.figure(f["path"], f["caption"], width=0.6)
    if rec.get("assumptions"):
        s.text("**Assumptions:** " + " ".join(rec["assumptions"]))
    if rec.get("how"):
        s.text(f"**How it was computed:** {rec['how']}")
    s.table(["independent check", "passed", "max |difference|", "detail"],
            [[c["method"], "yes" if c["passed"] else "NO", c.get("max_abs_diff", ""), c.get("detail", "")] for c in rec["checks"]])
    return s.blocks


def sections(records: list[dict], selected: list) -> list[Section]:
    """One level-1 section per assignment (course order), one level-2 section per question."""
    by_id = {r["id"]: r for r in records}
    out: list[Section] = []
    for key, a in course.ASSIGNMENTS.items():
        qs = [q for q in selected if q.assignment == key]
        if not qs:
            continue
        head = Section(f"{key} — {a.title}", level=1)
        if a.kind == "solution set":
            head.text("A student's solution set: every claim below is checked by a computation, none is trusted. The question texts "
                      "are not in the document; each is reconstructed from the answer.")
            verdicts = [by_id[q.id].get("verdict") for q in qs if q.id in by_id]
            counts = {v: verdicts.count(v) for v in ("correct", "partly", "wrong", "unsupported") if verdicts.count(v)}
            if counts:
                head.text("Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".")
        out.append(head)
        for q in qs:
            if q.id in by_id:
                out.append(_answer_section(by_id[q.id]))
            else:
                s = Section(f"{q.id} — {q.statement}", level=2)
                s.text("A practical question: its answer is the report of " + ", ".join(f"`tamrin run {e}`" for e in q.experiments) + ".")
                out.append(s)
    return out


def markdown(records: list[dict], selected: list) -> str:
    lines = ["# tamrin answer key", ""]
    for s in sections(records, selected):
        lines.append("#" * (s.level + 1) + " " + s.title)
        lines.append("")
        for b in s.blocks:
            if b.kind in ("text", "notice"):
                lines += [("> " if b.kind == "notice" else "") + b.text, ""]
            elif b.kind == "table":
                if b.caption:
                    lines += [f"*{b.caption}*", ""]
                lines.append("| " + " | ".join(b.columns) + " |")
                lines.append("|" + "---|" * len(b.columns))
                lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in b.rows]
                lines.append("")
            elif b.kind == "figure":
                lines += [f"![{b.caption}]({b.path})", ""]
    return "\n".join(lines) + "\n"
