"""The report as a Jupyter notebook (report.ipynb, nbformat 4), for students who hand in a notebook.

The same sections as the HTML/PDF, in the same order: markdown cells for headings, text, notices and tables; a code
cell per figure whose output is the figure (re-executing it shows the same file again); first, a code cell that
re-runs the experiment with the resolved config through the Python API (`tamrin.run`), so running the notebook
reproduces the run, outputs kept.
"""
from __future__ import annotations

import base64
from pathlib import Path

from tamrin.report.page import PageInfo
from tamrin.report.sections import Figure, Notice, Section, Table, Text, fmt


def _md_table(b: Table) -> str:
    esc = lambda v: fmt(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in b.columns) + " |", "|" + "---|" * len(b.columns)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in b.rows]
    return "\n".join(lines) + (f"\n\n*{b.caption}*" if b.caption else "")


def _figure_cell(nbf, b: Figure, base: Path):
    p = Path(b.path)
    src = f"from IPython.display import Image, display\ndisplay(Image(filename={str(p)!r}))  # {b.caption}"
    cell = nbf.v4.new_code_cell(src)
    full = p if p.is_absolute() else base / p
    if full.exists():
        data = base64.b64encode(full.read_bytes()).decode("ascii")
        cell.outputs = [nbf.v4.new_output("display_data", data={"image/png": data, "text/plain": "<IPython.core.display.Image object>"})]
    return cell


def rerun_source(call: str) -> str:
    return ("# Re-runs this report's experiment with the same configuration (a new run folder under runs/);\n"
            "# its metrics are those of the run this notebook was written from.\n"
            f"import tamrin\nrun_dir = {call}\nprint(run_dir)")


def build_notebook(sections: list[Section], base: Path, title: str, subtitle: str = "", page: PageInfo | None = None,
                   call: str | None = None):
    import nbformat as nbf

    page = page or PageInfo()
    nb = nbf.v4.new_notebook()
    head = [f"# {title}", subtitle]
    if page.banner:
        head.append(f"**{page.banner}**")
    head += [f"- **{k}:** {v}" for k, v in page.facts]
    cells = [nbf.v4.new_markdown_cell("\n\n".join(h for h in head if h))]
    if call:
        cells.append(nbf.v4.new_code_cell(rerun_source(call)))
    for s in sections:
        md = ["#" * min(6, s.level + 1) + " " + s.title]
        for b in s.blocks:
            if isinstance(b, (Text, Notice)):
                md.append(("> **Note:** " if isinstance(b, Notice) else "") + b.text)
            elif isinstance(b, Table):
                md.append(_md_table(b))
            elif isinstance(b, Figure):
                cells.append(nbf.v4.new_markdown_cell("\n\n".join(md)))
                md = []
                cells.append(_figure_cell(nbf, b, base))
        if md:
            cells.append(nbf.v4.new_markdown_cell("\n\n".join(md)))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def render_notebook(sections, base: Path, title: str, subtitle: str = "", page: PageInfo | None = None,
                    call: str | None = None) -> str:
    import nbformat as nbf

    nb = build_notebook(sections, base, title, subtitle, page, call)
    nbf.validate(nb)
    return nbf.writes(nb)


def experiment_call(meta: dict) -> str | None:
    """`tamrin.run("name", config={...})` for a run folder's meta (None when it has no experiment)."""
    name = meta.get("experiment")
    if not name:
        return None
    return f"tamrin.run({name!r}, config={meta.get('config') or {}!r}, pdf=False)"
