"""Hand-in rules (issue #19): the student's name and number in the header of every PDF page (the first
included) and in the HTML; Persian names shaped and in logical order; the quick-preset banner on every page of
a quick report and nowhere in a full one; the header never overlaps the table of contents; resolution order
of the student (command line > recorded > environment > user config file)."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from pypdf import PdfReader

from tamrin.report.page import QUICK_BANNER, PageInfo, page_info
from tamrin.report.pdf import render_pdf
from tamrin.report.html import render_html
from tamrin.report.sections import Section
from tamrin.student import Student, resolve
from tamrin.errors import UserError

NAME, SID = "دانشجوی نمونه", "4012345"


def _sections(n=40):
    return [Section(f"Part {i}", level=1 + (i % 2)).text("Body text. " * 60) for i in range(n)]


def _pdf(tmp_path, page, n=40):
    p = tmp_path / "r.pdf"
    p.write_bytes(render_pdf(_sections(n), tmp_path, "A report", "sub", page))
    return PdfReader(p)


def test_student_on_every_page_rtl_in_logical_order(tmp_path):
    page = page_info({"env": {"versions": {"tamrin": "0.1.0"}, "git_commit": "abc", "time": "2026-12-01T00:00"}},
                     Student(NAME, SID))
    reader = _pdf(tmp_path, page)
    assert len(reader.pages) > 3
    for i, pg in enumerate(reader.pages):
        text = pg.extract_text()
        assert NAME in text and SID in text, f"page {i + 1} lacks the student"
        assert QUICK_BANNER not in text
    first = reader.pages[0].extract_text()
    assert "student number" in first and "2026-12-01" in first and "version 0.1.0" in first


def test_no_student_means_nothing_personal(tmp_path):
    reader = _pdf(tmp_path, page_info({}), n=4)
    text = "".join(p.extract_text() for p in reader.pages)
    assert "student" not in text.lower()


def test_quick_banner_on_every_page(tmp_path):
    reader = _pdf(tmp_path, PageInfo(Student("Ada Lovelace", "1"), "quick", [["preset", "quick"]]))
    assert all(QUICK_BANNER in p.extract_text() for p in reader.pages)


def test_header_above_content_on_toc_pages(tmp_path):
    """Every content line (ToC entries too) starts below the header's rule."""
    reader = _pdf(tmp_path, PageInfo(Student("Ada Lovelace", "1"), "quick"), n=160)
    h = float(reader.pages[0].mediabox.height)
    for pg in reader.pages[:4]:
        ys = []
        pg.extract_text(visitor_text=lambda t, cm, tm, fd, fs: ys.append((h - tm[5], t)) if t.strip() else None)
        header = [y for y, t in ys if "Ada Lovelace" in t or "page" in t or QUICK_BANNER in t]
        body = [y for y, t in ys if "Part" in t or "Contents" in t]
        assert header and body and max(header) < min(body) - 2  # points from the top


def test_html_header_has_student_and_dir_auto(tmp_path):
    html = render_html(_sections(2), tmp_path, "T", "s", PageInfo(Student(NAME, SID), "smoke"))
    assert NAME in html and SID in html and QUICK_BANNER in html and 'dir="auto"' in html
    assert QUICK_BANNER not in render_html(_sections(2), tmp_path, "T", "s", PageInfo())


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
def test_rendered_page_written(tmp_path):
    _pdf(tmp_path, page_info({}, Student(NAME, SID)), n=2)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))


def test_student_resolution_order(tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("student: From File\nstudent_id: '111'\n")
    monkeypatch.setenv("TAMRIN_CONFIG", str(cfg))
    monkeypatch.delenv("TAMRIN_STUDENT", raising=False)
    monkeypatch.delenv("TAMRIN_STUDENT_ID", raising=False)
    assert resolve() == Student("From File", "111")
    monkeypatch.setenv("TAMRIN_STUDENT", "From Env")
    assert resolve() == Student("From Env", "111")
    assert resolve(recorded=Student("Recorded", "222")) == Student("Recorded", "222")
    assert resolve("Cli  Name", None, Student("Recorded", "222")) == Student("Cli Name", "222")
    cfg.write_text("studnet: typo\n")
    monkeypatch.delenv("TAMRIN_STUDENT")
    with pytest.raises(UserError, match="unknown key"):
        resolve()
    monkeypatch.setenv("TAMRIN_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(UserError, match="does not exist"):
        resolve()


def test_table_caption_never_alone_at_the_top_of_a_page(tmp_path):
    """issue #19 (layout): a short table and its caption stay on one page."""
    from tamrin.report.sections import Table

    for filler in range(18, 34):  # push the table to every position near the bottom of page 2
        s = Section("Filler").text("\n\n".join(f"Line {i} of filler text." for i in range(filler)))
        s.blocks.append(Table(["a", "b"], [[i, i * 2] for i in range(8)], "CAPTION-X: the table's caption."))
        p = tmp_path / f"t{filler}.pdf"
        p.write_bytes(render_pdf([s], tmp_path, "T", "", PageInfo()))
        pages = [pg.extract_text() for pg in PdfReader(p).pages]
        (where,) = [i for i, t in enumerate(pages) if "CAPTION-X" in t]
        assert "a b" in pages[where].replace("\n", " ") or " 14" in pages[where], f"caption alone (filler {filler})"
        assert "7 14" in pages[where].replace("\n", " "), f"the table's last row is not with its caption (filler {filler})"
