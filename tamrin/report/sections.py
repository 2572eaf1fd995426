"""The structured content of a report. An experiment's `run` returns a list of `Section`s; they are
saved as `sections.json` in the run folder so `tamrin report RUN_DIR` can re-render without training.

Text blocks are plain paragraphs (blank line = new paragraph); `**bold**` and `` `code` `` are
rendered in HTML and PDF alike. Figures are PNG files referenced relative to the run folder.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

from tamrin.runs import atomic_write_json


@dataclass
class Text:
    text: str
    kind: str = "text"


@dataclass
class Notice:
    """Something the reader must not miss (fallback data, skipped files, a target not met)."""

    text: str
    kind: str = "notice"


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""
    kind: str = "table"
    # a machine-readable label ("settings", "confusion:test", ...): tests and tools find a block by it, not by prose
    tag: str = ""


@dataclass
class Figure:
    path: str  # relative to the run folder (or absolute)
    caption: str = ""
    width: float = 1.0  # fraction of the page width
    kind: str = "figure"
    tag: str = ""  # as Table.tag: "curves", "confusion:validation", ...


Block = Union[Text, Notice, Table, Figure]


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    level: int = 1  # 1 = section, 2 = subsection, 3 = sub-subsection

    # builder helpers: s.text(...).table(...)
    def text(self, text: str) -> "Section":
        self.blocks.append(Text(text))
        return self

    def notice(self, text: str) -> "Section":
        self.blocks.append(Notice(text))
        return self

    def table(self, columns, rows, caption: str = "", tag: str = "") -> "Section":
        self.blocks.append(Table([str(c) for c in columns], [list(r) for r in rows], caption, tag=tag))
        return self

    def figure(self, path, caption: str = "", width: float = 1.0, base: str | Path | None = None, tag: str = "") -> "Section":
        p = Path(path)
        if base is not None:
            try:
                p = p.relative_to(base)
            except ValueError:
                pass
        self.blocks.append(Figure(str(p), caption, width, tag=tag))
        return self


_KINDS = {"text": Text, "notice": Notice, "table": Table, "figure": Figure}


def fmt(v: Any) -> str:
    """Cell formatting shared by HTML, PDF and notebooks: floats with 4 decimals up to 1, else 4 significant digits;
    ints with thousands separators; NaN and None (an undefined value) as a dash."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != v:  # undefined (no samples of that kind): a dash, never "nan" in a report
            return "—"
        if v == 0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-3:
            return f"{v:.3e}"
        if abs(v) <= 1:  # accuracies, F1, AUC...: a fixed 4 decimals so a column of them lines up
            return f"{v:.4f}"
        return f"{v:.4g}"
    return str(v)


def numeric_columns(t: Table) -> list[bool]:
    """Which columns hold only numbers (empty cells allowed): those are right-aligned in HTML and PDF
    so digits line up; text columns stay left-aligned so they read naturally."""
    out = []
    for i in range(len(t.columns)):
        cells = [r[i] for r in t.rows if i < len(r) and r[i] not in ("", None)]
        out.append(bool(cells) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in cells))
    return out


def section_to_dict(s: Section) -> dict:
    return {"title": s.title, "level": s.level, "blocks": [asdict(b) for b in s.blocks]}


def section_from_dict(d: dict) -> Section:
    blocks = []
    for b in d.get("blocks", []):
        b = dict(b)
        cls = _KINDS[b.pop("kind")]
        blocks.append(cls(**b))
    return Section(d["title"], blocks, d.get("level", 1))


def save_sections(path: str | Path, sections: list[Section], meta: dict | None = None) -> None:
    atomic_write_json(path, {"meta": meta or {}, "sections": [section_to_dict(s) for s in sections]})


def blocks_tagged(sections: list[Section], prefix: str) -> list:
    """Every table or figure whose tag is `prefix` or starts with `prefix:` (e.g. "confusion" finds "confusion:test")."""
    return [b for s in sections for b in s.blocks
            if getattr(b, "tag", "") == prefix or getattr(b, "tag", "").startswith(prefix + ":")]


def load_sections(path: str | Path) -> tuple[dict, list[Section]]:
    data = json.loads(Path(path).read_text())
    return data.get("meta", {}), [section_from_dict(d) for d in data["sections"]]
