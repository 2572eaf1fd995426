"""PDF report with fpdf2 (pure pip, no system libraries): title page with a table of contents (page
numbers, clickable), a bookmark (outline entry) for every section, a running page header, tables
that split across pages with their heading row repeated, and figures scaled to fit the page.

Fonts: DejaVu from matplotlib's own data folder, so Greek letters, ≥, −, ² render without extra files.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.errors import FPDFException
from fpdf.fonts import FontFace, TextStyle
from fpdf.outline import TableOfContents

from tamrin.report.page import PageInfo, has_rtl
from tamrin.report.sections import Figure, Notice, Section, Table, Text, fmt, numeric_columns

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_HEAD_FILL = (232, 238, 246)
_ZEBRA = (247, 249, 252)
_HEADING_SIZES = (15, 12.5, 11)  # pt, per outline level


_HEADER_Y = 7  # mm from the top edge: the running header sits above the top margin, so it never overlaps content


class _PDF(FPDF):
    """fpdf2 with the running header and, in a document with right-to-left text, shaping only where it is needed.

    harfbuzz shaping + unicode bidi on every string was ~40% of an assignment bundle's PDF time (the bundle holds
    Persian, so shaping was on for all of it): strings without right-to-left letters are now laid out as in a
    document without any, and each string with them exactly as before (whole paragraph / cell shaped)."""

    def __init__(self, title: str, page: PageInfo | None = None):
        super().__init__(format="A4")
        self._rtl_shaping = None  # the shaping state for right-to-left strings, once the document has any
        self.report_title = title
        self.page_info = page or PageInfo()
        # content starts below the header (and the banner, when there is one) on every page, the ToC's included
        self.set_top_margin(24 if self.page_info.banner else 19)
        self.add_font("dejavu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("dejavu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("dejavu", "I", str(_FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.add_font("dejavumono", "", str(_FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_auto_page_break(True, margin=15)
        self.set_title(title)
        self.set_creator("tamrin")
        self.current_section = ""

    def header(self):
        """Every page, the first included: the student (left, as the course asks), the report's title, the page
        number; under it the quick-preset banner of a smoke run."""
        info = self.page_info
        self.set_y(_HEADER_Y)
        who = info.student.label()
        self.set_text_color(60)
        self.set_font("dejavu", "B", 8)
        who_w = self.get_string_width(who) + 6 if who else 0
        if who:
            self.cell(who_w, 5, who, align="L")
        self.set_font("dejavu", "", 8)
        self.set_text_color(110)
        right = f"page {self.page_no()}"
        room = self.epw - who_w - self.get_string_width(right) - 4
        left = self.report_title if self.page_no() > 1 else ""  # page 1 shows the title in big letters
        while left and self.get_string_width(left) > room:  # shorten long titles to one line
            left = left[:-2]
        if left and left != self.report_title:
            left = left.rstrip() + "…"
        self.cell(room, 5, left, align="L")
        self.cell(0, 5, right, align="R", new_x="LMARGIN", new_y="NEXT")
        if info.banner:
            self.set_font("dejavu", "B", 8)
            self.set_text_color(170, 0, 0)
            self.cell(0, 4.5, info.banner, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(180)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.set_text_color(0)
        self.set_y(self.t_margin)

    def use_rtl_shaping(self):
        self.set_text_shaping(True)
        self._rtl_shaping, self.text_shaping = self.text_shaping, None

    @contextmanager
    def _shaping_for(self, text):
        want = self._rtl_shaping if self._rtl_shaping is not None and has_rtl(str(text or "")) else None
        old = self.text_shaping
        if want is old:
            yield
            return
        self.text_shaping = want
        try:
            yield
        finally:
            self.text_shaping = old

    # every string fpdf2 measures or writes passes one of these three (its tables and table of contents included)
    def cell(self, *args, **kwargs):
        with self._shaping_for(kwargs.get("text", args[2] if len(args) > 2 else "")):
            return super().cell(*args, **kwargs)

    def multi_cell(self, *args, **kwargs):
        with self._shaping_for(kwargs.get("text", args[2] if len(args) > 2 else "")):
            return super().multi_cell(*args, **kwargs)

    def get_string_width(self, s, *args, **kwargs):
        with self._shaping_for(s):
            return super().get_string_width(s, *args, **kwargs)

    @property
    def room(self) -> float:
        """Vertical space (mm) left on the current page before an automatic page break."""
        return self.page_break_trigger - self.get_y()


class _Toc(TableOfContents):
    """fpdf2's reference ToC (dotted leaders, page numbers, links) with bold top-level entries."""

    def __init__(self):
        super().__init__(text_style=TextStyle(font_family="dejavu", font_size_pt=10), level_indent=6, line_spacing=1.45)
        self.bold = TextStyle(font_family="dejavu", font_style="B", font_size_pt=10)
        self.pages_used = 0

    def get_text_style(self, pdf, item):
        return self.bold if item.level == 0 else self.text_style

    def render_toc(self, pdf, outline):
        start = pdf.page
        pdf.set_font("dejavu", "B", 12)
        pdf.cell(0, 8, "Contents", new_x="LMARGIN", new_y="NEXT")
        super().render_toc(pdf, outline)
        self.pages_used = pdf.page - start + 1


def _md(text: str) -> str:
    """fpdf2's markdown understands **bold**; backticks become plain text."""
    t = text.replace("`", "")
    # fpdf2 markdown treats '--' and '__' as markers: keep them literal
    return t.replace("__", "_\u200b_").replace("--", "-\u200b-")


def _write_text(pdf: _PDF, text: str, size: float = 10):
    pdf.set_font("dejavu", "", size)
    for para in text.split("\n\n"):
        if para.strip():
            # ragged right: justified lines stretch badly around long formulas, paths and code
            pdf.multi_cell(0, 5, _md(para.strip()), markdown=True, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)


def _caption(pdf: _PDF, text: str, align: str = "L"):
    pdf.set_font("dejavu", "I", 8)
    pdf.set_text_color(80)
    pdf.multi_cell(0, 4, _md(text), align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)


def _col_widths(pdf: _PDF, rows: list[list[str]], size: float) -> list[float]:
    """Natural width of each column (widest cell + padding). When the table is wider than the page,
    each column keeps at least its longest word (so headers like "column 11" never break inside a
    word) and the wide columns share what is left: their text wraps."""
    ncol = len(rows[0])
    pad = 2 * pdf.c_margin + 1.5
    natural, word = [0.0] * ncol, [0.0] * ncol
    for k, r in enumerate(rows):
        pdf.set_font("dejavu", "B" if k == 0 else "", size)
        for i in range(ncol):
            natural[i] = max(natural[i], pdf.get_string_width(r[i]) + pad)
            word[i] = max([word[i]] + [pdf.get_string_width(w) + pad for w in r[i].split()])
    if sum(natural) <= pdf.epw:
        return natural
    fixed = [min(n, max(w, pdf.epw / ncol / 2)) for n, w in zip(natural, word)]
    fixed = [min(f, pdf.epw / 3) for f in fixed]  # one unbreakable path must not eat the page
    if sum(fixed) >= pdf.epw:  # even single words do not fit: scale everything down
        return [f * pdf.epw / sum(fixed) for f in fixed]
    extra = [n - f for n, f in zip(natural, fixed)]
    scale = (pdf.epw - sum(fixed)) / max(1e-9, sum(extra))
    return [f + e * scale for f, e in zip(fixed, extra)]


def _table_height(pdf: _PDF, rows: list[list[str]], widths: list[float], size: float) -> float:
    """The rendered height (mm) of the table's rows, wrapped cells included (as fpdf2 lays them out below)."""
    line_h, pad = size * 0.55, 2 * 0.6
    total = 0.0
    for k, r in enumerate(rows):
        pdf.set_font("dejavu", "B" if k == 0 else "", size)
        lines = max(_lines(pdf, w - 2 * 1.2 + 2 * pdf.c_margin, line_h, c) for w, c in zip(widths, r))  # cell padding 1.2
        total += lines * line_h + pad
    pdf.set_font("dejavu", "", size)
    return total + 1


def _lines(pdf: _PDF, w: float, h: float, text: str) -> int:
    """How many lines multi_cell(w, h, text) takes. Most table cells fit on one line: that is decided from the string's
    width alone, since fpdf2's dry-run line breaking was a sixth of the combined demo report's PDF time."""
    if "\n" not in text and pdf.get_string_width(text) < w - 2 * pdf.c_margin - 0.01:
        return 1
    try:
        return len(pdf.multi_cell(w, h, text, dry_run=True, output="LINES"))
    except FPDFException:  # a column narrower than one character: fpdf2 scales such tables down anyway
        return 1


def _caption_height(pdf: _PDF, text: str) -> float:
    pdf.set_font("dejavu", "I", 8)
    return len(pdf.multi_cell(0, 4, _md(text), dry_run=True, output="LINES")) * 4 + 0.8


def _table(pdf: _PDF, b: Table):
    ncol = max(1, len(b.columns))
    size = 8 if ncol <= 6 else 7 if ncol <= 9 else 6
    rows = [[str(c) for c in b.columns] + [""] * (ncol - len(b.columns))]
    rows += [[fmt(v) for v in r][:ncol] + [""] * (ncol - len(r)) for r in b.rows]
    widths = _col_widths(pdf, rows, size)
    align = tuple("RIGHT" if num else "LEFT" for num in numeric_columns(b)) or ("LEFT",)
    align = align + ("LEFT",) * (ncol - len(align))
    pdf.set_font("dejavu", "", size)
    need = _table_height(pdf, rows, widths, size) + (_caption_height(pdf, b.caption) if b.caption else 0)
    pdf.set_font("dejavu", "", size)  # the measurements above changed the font
    full_page = pdf.page_break_trigger - pdf.t_margin
    # a table that fits on one page is kept on one page with its caption (never a caption alone at the top of a
    # page); a longer one starts where it is unless not even its heading row and two rows fit
    if (need > pdf.room and need <= full_page) or pdf.room < 4 * size * 0.6:
        pdf.add_page()
    with pdf.table(width=min(sum(widths), pdf.epw), col_widths=widths, align="LEFT", text_align=align, line_height=size * 0.55,
                   headings_style=FontFace(emphasis="BOLD", fill_color=_HEAD_FILL), first_row_as_headings=True,
                   borders_layout="SINGLE_TOP_LINE", cell_fill_color=_ZEBRA, cell_fill_mode="ROWS",
                   repeat_headings=1, padding=(0.6, 1.2)) as t:
        for r in rows:
            row = t.row()
            for c in r:
                row.cell(c)
    if b.caption:
        pdf.ln(0.8)
        _caption(pdf, b.caption)
    pdf.ln(2.5)


def _figure_box(pdf: _PDF, b: Figure, base: Path):
    """(path, width, height) in mm at full size, or None when the file is missing."""
    p = Path(b.path)
    p = p if p.is_absolute() else base / p
    if not p.exists():
        return None
    from PIL import Image

    with Image.open(p) as im:
        w_px, h_px = im.size
    w = pdf.epw * max(0.1, min(1.0, b.width))
    h = w * h_px / w_px
    max_h = pdf.page_break_trigger - pdf.t_margin - 20  # a full page minus header and caption
    if h > max_h:
        h, w = max_h, max_h * w_px / h_px
    return p, w, h


def _figure(pdf: _PDF, b: Figure, base: Path):
    box = _figure_box(pdf, b, base)
    if box is None:
        pdf.set_text_color(180, 0, 0)
        _write_text(pdf, f"(missing figure: {b.path})")
        pdf.set_text_color(0)
        return
    p, w, h = box
    cap = 10 if b.caption else 2
    if h + cap > pdf.room:
        # shrink a little rather than leave a big gap; otherwise move to the next page
        if pdf.room - cap >= 0.75 * h:
            w, h = w * (pdf.room - cap) / h, pdf.room - cap
        else:
            pdf.add_page()
    x = pdf.l_margin + (pdf.epw - w) / 2
    pdf.image(str(p), x=x, y=pdf.get_y(), w=w, h=h)
    pdf.set_y(pdf.get_y() + h + 1)
    if b.caption:
        _caption(pdf, b.caption, align="C")
    pdf.ln(3)


def _first_block_height(pdf: _PDF, s: Section, base: Path) -> float:
    """Room (mm) a section's opening needs — short text plus the first table or figure — so a heading
    is never left alone at the bottom of a page."""
    need = 0.0
    for b in s.blocks:
        if isinstance(b, Figure):
            box = _figure_box(pdf, b, base)
            return need + (0.75 * box[2] + 10 if box else 10)
        if isinstance(b, Table):
            return need + 25
        need += 5 * (1 + len(getattr(b, "text", "")) // 110) + 2
        if need > 40:
            break
    return min(need, 40)


def _notice(pdf: _PDF, text: str):
    pdf.set_fill_color(255, 243, 205)
    pdf.set_draw_color(240, 180, 0)
    pdf.set_font("dejavu", "B", 9.5)
    pdf.multi_cell(0, 5, _md(text), fill=True, border="L", padding=(1.5, 2), markdown=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(255)
    pdf.ln(2)


def _uses_rtl(sections: list[Section], title: str, page: PageInfo | None) -> bool:
    texts = [title, page.student.label() if page else ""] + [r[1] for r in (page.facts if page else [])]
    for s in sections:
        texts.append(s.title)
        for b in s.blocks:
            texts += [getattr(b, "text", ""), getattr(b, "caption", "")]
            if isinstance(b, Table):
                texts += [str(c) for c in b.columns] + [str(v) for r in b.rows for v in r]
    return any(has_rtl(t) for t in texts)


def _title_facts(pdf: _PDF, rows: list[list[str]]):
    """The title page's facts (course, assignment, student, date, version, preset, data) as a two-column table."""
    pdf.set_font("dejavu", "", 9)
    widths = [32, pdf.epw - 32]
    with pdf.table(width=pdf.epw, col_widths=widths, align="LEFT", text_align=("LEFT", "LEFT"), line_height=4.6,
                   first_row_as_headings=False, borders_layout="NONE", padding=(0.5, 1.2)) as t:
        for k, v in rows:
            row = t.row()
            row.cell(k, style=FontFace(emphasis="BOLD", color=(80, 80, 80)))
            row.cell(str(v))
    pdf.ln(4)


def _render(sections: list[Section], base: Path, title: str, subtitle: str, toc_pages: int, toc: _Toc,
            page: PageInfo | None = None) -> bytes:
    pdf = _PDF(title, page)
    if _uses_rtl(sections, title, page):
        # harfbuzz shaping joins Persian/Arabic letters and lays them out right-to-left (unicode bidi)
        pdf.use_rtl_shaping()
    pdf.add_page()
    pdf.set_font("dejavu", "B", 20)
    pdf.multi_cell(0, 10, title, align="L", new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font("dejavu", "", 10)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.set_draw_color(43, 108, 176)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.w - pdf.r_margin, pdf.get_y() + 2)
    pdf.set_line_width(0.2)
    pdf.ln(6)
    if page is not None and page.facts:
        _title_facts(pdf, page.facts)
    pdf.insert_toc_placeholder(toc.render_toc, pages=toc_pages)
    prev = -1
    for s in sections:
        # outline levels may only go one deeper at a time (fpdf2 enforces a coherent hierarchy)
        level = max(0, min(2, s.level - 1, prev + 1))
        prev = level
        size = _HEADING_SIZES[level]
        if pdf.room < size * 0.5 + 6 + _first_block_height(pdf, s, base):
            pdf.add_page()
        else:
            pdf.ln(4 if level == 0 else 2)
        pdf.set_font("dejavu", "B", size)
        pdf.start_section(s.title, level=level)
        pdf.multi_cell(0, size * 0.5, s.title, align="L", new_x="LMARGIN", new_y="NEXT")
        if level == 0:
            pdf.set_draw_color(200, 205, 215)
            pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
        pdf.ln(2)
        for b in s.blocks:
            if isinstance(b, Text):
                _write_text(pdf, b.text)
            elif isinstance(b, Notice):
                _notice(pdf, b.text)
            elif isinstance(b, Table):
                _table(pdf, b)
            elif isinstance(b, Figure):
                _figure(pdf, b, base)
    return bytes(pdf.output())


def render_pdf(sections: list[Section], base: Path, title: str, subtitle: str = "", page: PageInfo | None = None) -> bytes:
    """Render the sections to PDF bytes.

    fpdf2 must know in advance how many pages the table of contents takes (it fails otherwise). We
    estimate it; if the estimate was wrong, the failed attempt has measured the real count and we
    render once more with it (the body does not depend on it).
    """
    lines = sum(1 + len(s.title) // 80 for s in sections) + (len(page.facts) + 2 if page is not None else 0)
    pages = 1 if lines <= 45 else 1 + -(-(lines - 45) // 51)  # ~45 entries fit under the title, ~51 per page
    for _ in range(3):
        toc = _Toc()
        try:
            return _render(sections, base, title, subtitle, pages, toc, page)
        except FPDFException as e:
            if "insert_toc_placeholder" not in str(e) or not toc.pages_used:
                raise
            pages = toc.pages_used
    raise RuntimeError("table of contents page count did not settle")  # pragma: no cover
