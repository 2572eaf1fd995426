"""Worked course questions, each computed step by step (`tamrin calc --example NAME`, report `calc-examples`).

Every number in an example's text is formatted from a value computed here (by the calculator, by a
formula, or by running PyTorch); `checks` records each claim of the course next to what was computed,
and the tests assert that they agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tamrin.errors import UserError, did_you_mean


@dataclass
class Example:
    name: str
    title: str
    blocks: list = field(default_factory=list)  # ("text", str) or ("table", columns, rows, caption)
    checks: dict = field(default_factory=dict)  # claim -> (computed, expected)
    plots: list = field(default_factory=list)  # (name, make_figure, caption): drawn only for the report

    def text(self, s: str) -> "Example":
        self.blocks.append(("text", s.strip("\n")))
        return self

    def table(self, columns, rows, caption: str = "") -> "Example":
        self.blocks.append(("table", list(columns), [list(r) for r in rows], caption))
        return self

    def plot(self, name: str, make_figure, caption: str = "") -> "Example":
        """A figure for the report: `make_figure()` returns a matplotlib Figure (not drawn for the terminal)."""
        self.plots.append((name, make_figure, caption))
        return self

    def check(self, claim: str, computed, expected) -> bool:
        """Record a claim; `ok` is exact for ints and 1e-9 relative for floats."""
        self.checks[claim] = (computed, expected)
        return agrees(computed, expected)

    @property
    def ok(self) -> bool:
        return all(agrees(c, e) for c, e in self.checks.values())

    def check_rows(self):
        return [[claim, _fmt(c), _fmt(e), "yes" if agrees(c, e) else "NO"] for claim, (c, e) in self.checks.items()]

    def to_text(self) -> str:
        out = [self.title, "=" * len(self.title), ""]
        for b in self.blocks:
            if b[0] == "text":
                out += [b[1], ""]
            else:
                out += [text_table(b[1], b[2]), ""]
                if b[3]:
                    out += [f"({b[3]})", ""]
        if self.checks:
            out += ["Checks", "------", text_table(["claim", "computed", "expected", "agrees"], self.check_rows()), ""]
        return "\n".join(out)

    def to_section(self, run=None):
        """A report Section; with a run, the plots are saved as figures."""
        from tamrin.report import Section

        s = Section(self.title)
        for b in self.blocks:
            if b[0] == "text":
                s.text(b[1])
            else:
                s.table(b[1], b[2], b[3])
        if run is not None:
            for name, make, caption in self.plots:
                s.figure(run.save_figure(make(), f"{self.name}-{name}"), caption, width=0.8, base=run.path)
        if self.checks:
            s.table(["claim", "computed", "expected", "agrees"], self.check_rows(), "each claim of the question, recomputed")
        return s


def agrees(computed, expected) -> bool:
    if isinstance(expected, float) or isinstance(computed, float):
        return abs(float(computed) - float(expected)) <= 1e-9 * max(1.0, abs(float(expected)))
    return computed == expected


def _fmt(v):
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def text_table(columns, rows) -> str:
    cells = [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(columns, *cells)]

    def line(r):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(columns), "-" * len(line(columns))] + [line(r) for r in cells])


# The example modules import Example from here, so they are imported after it is defined.
from tamrin.calc.examples import basic, fields, gradients, opcount, separable  # noqa: E402

EXAMPLES = {
    "fc-params": basic.fc_params,
    "cnn1d": basic.cnn1d,
    "receptive-field": fields.receptive_field,
    "separable": separable.separable,
    "dilated": fields.dilated,
    "conv1d-785": gradients.conv1d_785,
    "op-counts": opcount.op_counts,
}


def names() -> list[str]:
    return list(EXAMPLES.keys())


def get(name: str):
    if name not in EXAMPLES:
        raise UserError(f"unknown example {name!r}{did_you_mean(name, names())}; choose one of: {', '.join(names())} (or 'list')")
    return EXAMPLES[name]
