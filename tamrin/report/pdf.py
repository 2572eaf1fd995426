"""PDF report with fpdf2 (pure pip, no system libraries): table of contents, bookmarks, page header.

Fonts: DejaVu from matplotlib's own data folder, so Greek letters, ≥, −, ² render without extra files.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace, TextStyle
from fpdf.outline import TableOfContents

from tamrin.report.sections import Figure, Notice, Section, Table, Text, fmt

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _PDF(FPDF):
    def __init__(self, title: str):
        super().__init__(format="A4")
        self.report_title = title
        self.add_font("dejavu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("dejavu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("dejavu", "I", str(_FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.add_font("dejavumono", "", str(_FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_auto_page_break(True, margin=15)
        self.set_title(title)
        self.set_creator("tamrin")

    def header(self):
        if self.page_no() == 1:
            return
        self.set_font("dejavu", "", 8)
        self.set_text_color(110)
        self.cell(0, 6, self.report_title[:110], align="L")
        self.cell(0, 6, f"page {self.page_no()}", align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(180)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_text_color(0)


def _md(text: str) -> str:
    """fpdf2's markdown understands **bold**; backticks become plain text."""
    t = text.replace("`", "")
    # fpdf2 markdown treats '--' and '__' as markers: keep them literal
    t = t.replace("__", "_\u200b_").replace("--", "-\u200b-")
    return t


def _write_text(pdf: _PDF, text: str, size: float = 10):
    pdf.set_font("dejavu", "", size)
    for para in text.split("\n\n"):
        if para.strip():
            pdf.multi_cell(0, 5, _md(para.strip()), markdown=True, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)


def _table(pdf: _PDF, b: Table):
    ncol = max(1, len(b.columns))
    size = 8 if ncol <= 6 else 7 if ncol <= 9 else 6
    pdf.set_font("dejavu", "", size)
    rows = [[str(c) for c in b.columns]] + [[fmt(v) for v in r] + [""] * (ncol - len(r)) for r in b.rows]
    width = pdf.w - pdf.l_margin - pdf.r_margin
    # column widths proportional to the longest cell, with a floor
    longest = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(ncol)]
    total = sum(max(4, n) for n in longest)
    widths = tuple(max(4, n) / total * width for n in longest)
    with pdf.table(col_widths=widths, text_align=("LEFT",) + ("RIGHT",) * (ncol - 1), line_height=size * 0.55,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 240, 247)), first_row_as_headings=True) as t:
        for r in rows:
            row = t.row()
            for c in r[:ncol]:
                row.cell(c)
    if b.caption:
        pdf.set_font("dejavu", "I", 8)
        pdf.multi_cell(0, 4, _md(b.caption), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _figure(pdf: _PDF, b: Figure, base: Path):
    p = Path(b.path)
    p = p if p.is_absolute() else base / p
    if not p.exists():
        _write_text(pdf, f"(missing figure: {b.path})")
        return
    from PIL import Image

    with Image.open(p) as im:
        w_px, h_px = im.size
    max_w = (pdf.w - pdf.l_margin - pdf.r_margin) * max(0.1, min(1.0, b.width))
    max_h = pdf.h - pdf.t_margin - 30
    w = max_w
    h = w * h_px / w_px
    if h > max_h:
        h = max_h
        w = h * w_px / h_px
    if pdf.get_y() + h > pdf.h - pdf.b_margin:
        pdf.add_page()
    x = pdf.l_margin + (pdf.w - pdf.l_margin - pdf.r_margin - w) / 2
    pdf.image(str(p), x=x, y=pdf.get_y(), w=w, h=h)
    pdf.set_y(pdf.get_y() + h + 1)
    if b.caption:
        pdf.set_font("dejavu", "I", 8)
        pdf.multi_cell(0, 4, _md(b.caption), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def render_pdf(sections: list[Section], base: Path, title: str, subtitle: str = "") -> bytes:
    pdf = _PDF(title)
    pdf.add_page()
    pdf.set_font("dejavu", "B", 18)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font("dejavu", "", 10)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(3)
    toc = TableOfContents()
    toc.text_style = TextStyle(font_family="dejavu", font_size_pt=10)
    pages = max(1, (len(sections) + 34) // 35)
    pdf.set_font("dejavu", "", 10)
    pdf.insert_toc_placeholder(toc.render_toc, pages=pages)
    for s in sections:
        level = max(0, min(2, s.level - 1))
        if level == 0 and pdf.get_y() > pdf.h * 0.6:
            pdf.add_page()
        size = (15, 12.5, 11)[level]
        pdf.set_font("dejavu", "B", size)
        pdf.ln(2)
        pdf.start_section(s.title, level=level)
        pdf.multi_cell(0, size * 0.5, s.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        for b in s.blocks:
            if isinstance(b, Text):
                _write_text(pdf, b.text)
            elif isinstance(b, Notice):
                pdf.set_fill_color(255, 245, 210)
                pdf.set_font("dejavu", "B", 9.5)
                pdf.multi_cell(0, 5, _md(b.text), fill=True, new_x="LMARGIN", new_y="NEXT")
                pdf.set_fill_color(255)
                pdf.ln(1.5)
            elif isinstance(b, Table):
                _table(pdf, b)
            elif isinstance(b, Figure):
                _figure(pdf, b, base)
    return bytes(pdf.output())
