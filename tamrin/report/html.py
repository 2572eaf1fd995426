"""Self-contained HTML report (Jinja2): images are inlined as base64, so one file can be mailed or handed in."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from jinja2 import Environment

from tamrin.report.sections import Figure, Notice, Section, Table, Text, fmt

_TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
 body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:0 auto;padding:1.5em;color:#222;line-height:1.5}
 header.page{border-bottom:3px solid #2b6cb0;margin-bottom:1em} header.page h1{margin-bottom:.2em}
 .sub{color:#555} nav.toc{background:#f5f7fa;border:1px solid #dde3ea;padding:.6em 1.2em;border-radius:6px}
 nav.toc ul{margin:.2em 0;padding-left:1.2em} nav.toc li.l2{margin-left:1.2em;font-size:.95em} nav.toc li.l3{margin-left:2.4em;font-size:.9em}
 h2{border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:1.8em} h3{margin-top:1.4em}
 table{border-collapse:collapse;margin:.8em 0;font-size:.9em} th,td{border:1px solid #ccd;padding:.25em .6em;text-align:right}
 th{background:#eef2f7} td:first-child,th:first-child{text-align:left} caption{caption-side:bottom;color:#555;font-size:.85em;padding-top:.3em}
 figure{margin:1em 0;text-align:center} figure img{max-width:100%;border:1px solid #e2e2e2} figcaption{color:#555;font-size:.88em}
 .notice{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .9em;margin:.8em 0}
 code{background:#f2f2f2;padding:0 .25em;border-radius:3px}
</style></head><body>
<header class="page"><h1>{{ title }}</h1><div class="sub">{{ subtitle }}</div></header>
<nav class="toc"><strong>Contents</strong><ul>
{% for s in sections %}<li class="l{{ s.level }}"><a href="#s{{ loop.index }}">{{ s.title|e }}</a></li>
{% endfor %}</ul></nav>
{% for s in sections %}
<section id="s{{ loop.index }}" class="level{{ s.level }}">
<h{{ s.level + 1 }}>{{ s.title|e }}</h{{ s.level + 1 }}>
{% for b in s.blocks %}{{ b }}
{% endfor %}</section>
{% endfor %}
</body></html>
"""


def inline(text: str) -> str:
    """Escape, then **bold** and `code`."""
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return t


def _block(b, base: Path) -> str:
    if isinstance(b, Text):
        return "\n".join(f"<p>{inline(p)}</p>" for p in b.text.split("\n\n") if p.strip())
    if isinstance(b, Notice):
        return f'<div class="notice">{inline(b.text)}</div>'
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.columns)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in r) + "</tr>" for r in b.rows)
        cap = f"<caption>{inline(b.caption)}</caption>" if b.caption else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(b, Figure):
        p = Path(b.path)
        p = p if p.is_absolute() else base / p
        if not p.exists():
            return f'<div class="notice">missing figure: {html.escape(b.path)}</div>'
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        w = int(max(10, min(100, b.width * 100)))
        cap = f"<figcaption>{inline(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure><img style="width:{w}%" alt="{html.escape(b.caption or p.name)}" src="data:image/png;base64,{data}">{cap}</figure>'
    raise TypeError(type(b))


def render_html(sections: list[Section], base: Path, title: str, subtitle: str = "") -> str:
    env = Environment(autoescape=False)
    view = [{"title": s.title, "level": max(1, min(3, s.level)), "blocks": [_block(b, base) for b in s.blocks]} for s in sections]
    return env.from_string(_TEMPLATE).render(title=html.escape(title), subtitle=html.escape(subtitle), sections=view)
