"""Render an Analysis as a terminal table, CSV, JSON or Markdown."""
from __future__ import annotations

import csv
import io
import json

from tamrin.calc.conventions import all_totals, ops
from tamrin.calc.layers import fmt_shape
from tamrin.calc.rf import fmt_num, fmt_rf
from tamrin.errors import UserError

FORMATS = ("table", "csv", "json", "markdown")
COLUMNS = ["#", "layer", "input", "output", "weights", "biases", "BN params", "BN buffers", "ops", "RF", "jump", "start"]


def rows_for(analysis, convention: str = "tamrin") -> list[list]:
    """Table rows (numbers as ints) with a final 'total' row."""
    out = []
    for i, r in enumerate(analysis.rows, 1):
        size, jump, start = fmt_rf(r.rf)
        out.append([i, "  " * r.depth + r.name, fmt_shape(r.in_shape), fmt_shape(r.out_shape), r.weights, r.biases,
                    r.bn_params, r.bn_buffers, ops(r, convention), size, jump, start])
    t = analysis.totals()
    last = analysis.rows[-1] if analysis.rows else None
    size, jump, start = fmt_rf(last.rf) if last else ("-",) * 3
    out.append(["", "total", fmt_shape(analysis.input_shape), fmt_shape(analysis.output_shape), t["weights"],
                t["biases"], t["bn_params"], t["bn_buffers"], sum(ops(r, convention) for r in analysis.rows),
                size, jump, start])
    return out


def summary(analysis, convention: str = "tamrin") -> str:
    t = analysis.totals()
    conv_totals = all_totals(analysis)
    return (f"parameters: {t['params']:,} (weights {t['weights']:,} + biases {t['biases']:,} + batch-norm "
            f"{t['bn_params']:,}); batch-norm buffers: {t['bn_buffers']:,}\n"
            f"multiply-adds per sample ({convention}): {conv_totals[convention]:,} = {conv_totals[convention] / 1e6:.2f}M"
            f"  (FLOPs = 2 x MACs = {2 * conv_totals[convention] / 1e6:.2f}M)\n"
            "other conventions: " + ", ".join(f"{c} {v / 1e6:.2f}M" for c, v in conv_totals.items() if c != convention))


def _cell(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def render(analysis, fmt: str = "table", convention: str = "tamrin") -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    cols = COLUMNS[:8] + [f"MACs ({convention})"] + COLUMNS[9:]
    rows = rows_for(analysis, convention)
    if fmt == "json":
        return json.dumps(to_dict(analysis, convention), indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
        return buf.getvalue()
    cells = [[_cell(v) for v in r] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" if i in (1, 2, 3) else "---:" for i in range(len(cols))) + "|"]
        # Markdown collapses leading spaces: show branch nesting with dots
        lines += ["| " + " | ".join(("· " * ((len(c) - len(c.lstrip())) // 2) + c.strip()) if j == 1 else c
                                    for j, c in enumerate(r)).replace("| total", "| **total**", 1) + " |"
                  for r in cells]
        return "\n".join(lines) + "\n\n" + summary(analysis, convention).replace("\n", "  \n") + "\n"
    widths = [max(len(str(c)) for c in col) for col in zip(cols, *cells)]
    left = {1, 2, 3}

    def line(r):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    sep = "-" * len(line(cols))
    body = [line(cols), sep] + [line(r) for r in cells[:-1]] + [sep, line(cells[-1])]
    return "\n".join(body) + "\n" + summary(analysis, convention) + "\n"


def to_dict(analysis, convention: str = "tamrin") -> dict:
    def rf_json(rf):
        return None if not rf else [{"size": int(s), "jump": fmt_num(j), "start": fmt_num(st)} for s, j, st in rf]

    return {
        "input_shape": list(analysis.input_shape),
        "output_shape": list(analysis.output_shape),
        "convention": convention,
        "layers": [{"name": r.name, "kind": r.kind, "depth": r.depth, "input_shape": list(r.in_shape),
                    "output_shape": list(r.out_shape), "weights": r.weights, "biases": r.biases,
                    "bn_params": r.bn_params, "bn_buffers": r.bn_buffers, "params": r.params,
                    "macs": r.macs, "ops": ops(r, convention), "receptive_field": rf_json(r.rf)}
                   for r in analysis.rows],
        "totals": dict(analysis.totals(), ops=sum(ops(r, convention) for r in analysis.rows)),
        "conventions": all_totals(analysis),
    }
