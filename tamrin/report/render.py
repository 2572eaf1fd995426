"""Turns a run folder's sections.json (+ config and environment) into report.html and report.pdf."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tamrin.report.notebook import experiment_call
from tamrin.report.page import PageInfo, page_info
from tamrin.report.sections import Section, load_sections, save_sections
from tamrin.runs import atomic_write_bytes, atomic_write_text
from tamrin.student import Student


def _flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _cfg_value(v) -> str:
    """Config values as the user would type them in --set (0.002, 1e-04, True), not table-formatted."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def frame_sections(meta: dict, sections: list[Section], level_shift: int = 0) -> list[Section]:
    """Wrap an experiment's sections with the parts every course report needs: what was run,
    notices (fallback data, skipped files), the resolved configuration and the environment."""
    head = Section(meta.get("title", meta.get("experiment", "run")), level=1 + level_shift)
    if meta.get("exercise"):
        head.text(f"**Exercise:** {meta['exercise']}")
    for n in meta.get("notices", []):
        head.notice(n)
    if "seconds" in meta:
        head.text(f"Run time: {meta['seconds']:.1f} s.")
    out = [head]
    for s in sections:
        out.append(Section(s.title, s.blocks, min(3, s.level + 1 + level_shift)))
    if meta.get("config"):
        cfg = Section("Configuration (resolved)", level=2 + level_shift)
        cfg.table(["key", "value"], [[k, _cfg_value(v)] for k, v in _flat(meta["config"])],
                  "Every value used by this run; reproduce with `tamrin run NAME --config config.yaml` from the run folder.")
        out.append(cfg)
    env = meta.get("env")
    if env:
        e = Section("Environment", level=2 + level_shift)
        rows = [[k, str(v)] for k, v in env.items() if k != "versions"]
        rows += [[f"version: {k}", str(v)] for k, v in env.get("versions", {}).items()]
        e.table(["item", "value"], rows)
        out.append(e)
    return out


def _write(path: Path, sections, title, subtitle, pdf: bool, page: PageInfo | None = None, call: str | None = None,
           announce: str = ""):
    """report.html, report.ipynb and (with pdf) report.pdf: the same sections in the same order.

    announce names a report that takes a while (the combined report of many experiments, an assignment bundle:
    up to a minute with the PDF): it is said on stderr before the writing starts, and how long it took after."""
    from tamrin.report.html import render_html
    from tamrin.report.notebook import render_notebook

    t0 = time.perf_counter()
    if announce:
        print(f"writing {announce} ({len(sections)} sections{', PDF included' if pdf else ''}) ...", file=sys.stderr, flush=True)
    atomic_write_text(path / "report.html", render_html(sections, path, title, subtitle, page))
    atomic_write_text(path / "report.ipynb", render_notebook(sections, path, title, subtitle, page, call))
    if pdf:
        from tamrin.report.pdf import render_pdf

        atomic_write_bytes(path / "report.pdf", render_pdf(sections, path, title, subtitle, page))
    if announce:
        print(f"{announce} written to {path} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def _with_student(path: Path, meta: dict, sections, student: Student | None) -> dict:
    """A student given to `tamrin report` replaces the recorded one, and is recorded for the next re-render."""
    if student is not None and student.to_dict() != meta.get("student"):
        meta = {**meta, "student": student.to_dict()}
        save_sections(path / "sections.json", sections, meta)
    return meta


def render_run_dir(path: Path, pdf: bool = True, student: Student | None = None) -> None:
    meta, sections = load_sections(path / "sections.json")
    meta = _with_student(path, meta, sections, student)
    # a single run: sections keep their own levels (shift -1 undoes the nesting under the experiment),
    # and as the page title already names the experiment, the head section is called "Overview"
    framed = frame_sections(meta, sections, level_shift=-1)
    framed[0] = Section("Overview", framed[0].blocks, 1)
    title = meta.get("title", path.name)
    subtitle = f"tamrin report · {path.name}"
    _write(path, framed, title, subtitle, pdf, page_info(meta), experiment_call(meta))


def rebase_figures(sections: list[Section], child: str) -> None:
    """Figure paths are relative to a child run folder: make them relative to its parent folder."""
    for s in sections:
        for b in s.blocks:
            if getattr(b, "kind", "") == "figure" and not Path(b.path).is_absolute():
                b.path = str(Path(child) / b.path)


def render_combined(parent: Path, children: list[Path], pdf: bool = True, student: Student | None = None) -> None:
    """One report with a section per experiment (figures referenced from the children's folders)."""
    allsecs: list[Section] = []
    presets, sources, first_meta = set(), [], {}
    for child in children:
        p = child / "sections.json"
        if not p.exists():
            continue
        meta, sections = load_sections(p)
        first_meta = first_meta or meta
        presets.add(meta.get("preset", "full"))
        sources += [x for x in meta.get("data_sources", []) if x not in sources]
        rebase_figures(sections, child.name)
        allsecs.extend(frame_sections(meta, sections))
    # the title page: quick if any part is a smoke run (the banner must not hide one), the data of every part
    preset = next((p for p in ("smoke", "quick", "custom") if p in presets), "full")
    meta = {"env": first_meta.get("env"), "preset": preset, "data_sources": sources,
            "assignment": "all experiments", "student": (student or Student()).to_dict()}
    _write(parent, allsecs, "tamrin: all experiments", f"combined report · {parent.name}", pdf, page_info(meta),
           announce="the combined report")
