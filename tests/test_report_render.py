"""Rendered reports: the PDF read back with pypdf (outline, table of contents, text, page header,
tables split across pages) and the self-contained HTML (every section, inline images)."""
import re

import numpy as np
import pytest
from pypdf import PdfReader

from tamrin.report import Section, save_sections
from tamrin.report.render import render_combined, render_run_dir
from tamrin.report.sections import Figure, Table, Text, fmt, load_sections
from tamrin.report.standard import classification_sections, training_section
from tamrin.runs import Run

TITLE = "demo-exp: a sample report"


def _squash(s: str) -> str:
    """Compare text without whitespace: PDF extraction splits and justifies lines freely."""
    return re.sub(r"\s+", "", s)


def _plain(md: str) -> str:
    return md.replace("**", "").replace("`", "")


def build_run(path, n_rows: int = 60) -> Run:
    """A run folder with every kind of block, produced through the same helpers experiments use."""
    run = Run(path, "demo-exp", quiet=True)
    rng = np.random.default_rng(0)
    classes = ["cat", "dog", "bird"]
    y = np.repeat([0, 1, 2], 12)
    probs = rng.dirichlet([1, 1, 1], len(y))
    probs[np.arange(len(y)), y] += 0.5
    hist = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5 + 0.1 * e, "val_loss": 1.2 / e, "val_acc": 0.45 + 0.1 * e} for e in range(1, 4)]
    secs = [Section("Introduction").text("Alpha paragraph explains the **goal** of the `demo` run.\n\nBeta paragraph is the second one.")]
    secs += training_section(classes=classes, loss_fn="cross-entropy", optimizer="SGD", optimizer_params={"lr": 0.05}, epochs=3, batch_size=8,
                             splits={"train": y, "validation": y[:9]}, preprocessing="scaled to [0, 1]")
    secs += classification_sections(run, "validation", y, probs, classes, history=hist)
    secs.append(Section("Deep detail", level=3).text("A level-3 section straight after a level-2 one."))
    secs.append(Section("Long table").table(["index", "value", "label"], [[i, i / 7, f"row {i}"] for i in range(n_rows)], "Many rows."))
    secs.append(Section("Lost figure").figure("figures/does_not_exist.png", "gone"))
    meta = {"experiment": "demo-exp", "title": TITLE, "exercise": "Exercise 0: a test", "notices": ["Fallback data used: a notice."],
            "config": {"seed": 0, "train": {"lr": 0.05}}, "env": {"python": "3", "versions": {"numpy": np.__version__}}, "seconds": 0.5}
    save_sections(path / "sections.json", secs, meta)
    render_run_dir(path)
    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "run"
    build_run(path)
    meta, sections = load_sections(path / "sections.json")
    # the rendered report frames the sections: an overview first, configuration and environment last
    titles = ["Overview"] + [s.title for s in sections] + ["Configuration (resolved)", "Environment"]
    return path, sections, titles


def _outline(reader, items=None, depth=0, out=None):
    out = [] if out is None else out
    for it in reader.outline if items is None else items:
        if isinstance(it, list):
            _outline(reader, it, depth + 1, out)
        else:
            out.append((it.title, depth, reader.get_destination_page_number(it) + 1))
    return out


def test_pdf_outline_has_every_section_with_levels(report):
    path, sections, titles = report
    reader = PdfReader(path / "report.pdf")
    outline = _outline(reader)
    assert [t for t, _, _ in outline] == titles
    depth = {t: d for t, d, _ in outline}
    assert depth["Overview"] == 0 and depth["Results: validation"] == 0
    assert depth["Confusion matrix (validation)"] == 1 and depth["Deep detail"] == 2
    assert reader.metadata.title == TITLE


def test_pdf_toc_page_numbers_match_the_bookmarks(report):
    path, _, titles = report
    reader = PdfReader(path / "report.pdf")
    toc = reader.pages[0].extract_text()
    assert "Contents" in toc
    for title, _, page in _outline(reader):
        m = re.search(re.escape(title) + r"\s*\.{3,}\s*(\d+)", toc)
        assert m, f"{title!r} missing from the table of contents"
        assert int(m.group(1)) == page, title
        assert _squash(title) in _squash(reader.pages[page - 1].extract_text()), f"{title!r} not on page {page}"


def test_pdf_contains_the_text_of_every_section_and_a_page_header(report):
    path, sections, titles = report
    reader = PdfReader(path / "report.pdf")
    pages = [p.extract_text() for p in reader.pages]
    body = _squash("".join(pages[1:]))
    for t in titles:
        assert _squash(t) in body
    for s in sections:
        for b in s.blocks:
            if isinstance(b, Text):
                for para in b.text.split("\n\n"):
                    assert _squash(_plain(para)) in body, para
            elif isinstance(b, Table):
                assert all(_squash(c) in body for c in b.columns)
                assert all(_squash(fmt(v)) in body for v in b.rows[0] if v != "")
    assert "Fallbackdataused:anotice." in body and "Exercise0:atest" in body
    assert "missing figure: figures/does_not_exist.png" in "".join(pages)
    for i, text in enumerate(pages[1:], start=2):
        assert text.startswith(TITLE) or TITLE in text.splitlines()[0], f"no header on page {i}"
        assert f"page {i}" in text
    # three figures from classification_sections, drawn as images
    n_images = sum(len(p.images) for p in reader.pages)
    assert n_images == 3


def test_pdf_long_table_splits_across_pages_with_its_heading_repeated(report):
    path, _, _ = report
    pages = [p.extract_text() for p in PdfReader(path / "report.pdf").pages]
    first = next(i for i, t in enumerate(pages) if "row 0\n" in t or t.endswith("row 0"))
    last = next(i for i, t in enumerate(pages) if "row 59" in t)
    assert last > first, "the 60-row table should not fit on one page after the figures"
    for t in pages[first: last + 1]:
        assert re.search(r"index\s*value\s*label", t), "table heading not repeated on a continued page"


def test_pdf_table_of_contents_spanning_pages(tmp_path):
    # 90 sections do not fit on the title page: the ToC takes more pages and numbers must still agree
    secs = [Section(f"Part {i}", level=1 + (i % 3 == 1)).text(f"Body of part {i}.") for i in range(90)]
    save_sections(tmp_path / "sections.json", secs, {"title": "many"})
    render_run_dir(tmp_path)
    reader = PdfReader(tmp_path / "report.pdf")
    outline = _outline(reader)
    assert len(outline) == 91
    toc = "".join(p.extract_text() for p in reader.pages[:3])
    for title, _, page in outline:
        m = re.search(re.escape(title) + r"\s*\.{3,}\s*(\d+)", toc)
        assert m and int(m.group(1)) == page, title
    # the body starts right after the contents pages
    assert outline[1][2] > 2


def test_html_has_every_section_and_inline_images_only(report):
    path, sections, titles = report
    html = (path / "report.html").read_text()
    for t in titles:
        assert f">{t}</a>" in html, f"{t!r} not in the table of contents"
        assert re.search(rf"<h[234] dir=\"auto\">{re.escape(t)}</h[234]>", html), t
    for s in sections:
        for b in s.blocks:
            if isinstance(b, Text):
                assert "<strong>goal</strong>" in html or "**" not in b.text
    n_fig = sum(isinstance(b, Figure) for s in sections for b in s.blocks)
    imgs = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert len(imgs) == n_fig - 1  # the missing figure is a visible notice instead
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert "missing figure: figures/does_not_exist.png" in html
    assert not re.search(r'(src|href)="(?!data:|#)', html), "the report must not depend on other files"
    assert '<td class="num">0.1429</td>' in html  # 1/7, numbers right-aligned


def test_html_escapes_and_combined_report(tmp_path, capsys):
    for name in ("exp-a", "exp-b"):
        child = tmp_path / name
        run = Run(child, name, quiet=True)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        p = run.save_figure(fig, "line", dpi=40)
        secs = [Section(f"Results of {name} <b>raw</b>").text("a < b & c").figure(p, "fig", base=run.path)]
        save_sections(child / "sections.json", secs, {"experiment": name, "title": f"{name}: demo"})
    render_combined(tmp_path, [tmp_path / "exp-a", tmp_path / "exp-b"])
    err = capsys.readouterr().err
    assert "writing the combined report (" in err and ", PDF included) ..." in err and "the combined report written to" in err
    html = (tmp_path / "report.html").read_text()
    assert "a &lt; b &amp; c" in html and "<b>raw</b>" not in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 2
    outline = _outline(PdfReader(tmp_path / "report.pdf"))
    assert [(t, d) for t, d, _ in outline] == [("exp-a: demo", 0), ("Results of exp-a <b>raw</b>", 1),
                                               ("exp-b: demo", 0), ("Results of exp-b <b>raw</b>", 1)]


def test_awkward_content_renders(tmp_path):
    """Empty and wide tables, unbreakable strings, non-Latin text, an empty section, a first section
    deeper than level 1: all render (nothing is dropped from the outline)."""
    long_path = "/very/long/" + "x" * 180 + "/checkpoint.pt"
    secs = [
        Section("Starts deep", level=3).text("λ ≥ 0.5, loss − 1, x², 测试 (a glyph DejaVu lacks)."),
        Section("Empty table").table(["a", "b"], [], "no rows"),
        Section("Wide table").table([f"column {i}" for i in range(12)], [[long_path] + [i * 1.5 for i in range(11)]] * 3),
        Section("Nothing inside"),
        Section("Ragged rows").table(["a", "b", "c"], [[1], [1, 2, 3, 4]]),
    ]
    save_sections(tmp_path / "sections.json", secs, {"title": "awkward ≥ λ"})
    render_run_dir(tmp_path)
    reader = PdfReader(tmp_path / "report.pdf")
    assert [t for t, _, _ in _outline(reader)] == ["Overview"] + [s.title for s in secs]
    text = _squash("".join(p.extract_text() for p in reader.pages))
    assert "λ≥0.5" in text and "column11" in text and "checkpoint.pt" in text
    assert "column 11" in (tmp_path / "report.html").read_text()


def test_cell_formatting():
    assert [fmt(v) for v in (0.76, 1.0, 0.0012, 12.345, 2e-5, 1234567.0, float("nan"), 0, 12345, True, "x")] == \
        ["0.7600", "1.0000", "0.0012", "12.35", "2.000e-05", "1.235e+06", "—", "0", "12,345", "True", "x"]


def test_pdf_line_count_shortcut_agrees_with_fpdf_line_breaking():
    """Table heights decide page breaks: the one-line shortcut of _lines must count as fpdf2's own line breaking does."""
    from hypothesis import given, settings, strategies as st
    from fpdf.errors import FPDFException

    from tamrin.report.pdf import _PDF, _lines

    pdf = _PDF("t")
    pdf.add_page()

    @settings(max_examples=300, deadline=None)
    @given(text=st.text(alphabet="ab −≥²αxyz0123456789.%", max_size=60), width=st.floats(4, 120),
           size=st.sampled_from([6, 7, 8, 10]), bold=st.booleans())
    def check(text, width, size, bold):
        pdf.set_font("dejavu", "B" if bold else "", size)
        try:
            slow = len(pdf.multi_cell(width, 4, text, dry_run=True, output="LINES"))
        except FPDFException:
            slow = 1
        assert _lines(pdf, width, 4, text) == slow

    check()
