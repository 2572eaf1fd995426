"""Self-contained HTML report (Jinja2): images are inlined as base64, so one file can be mailed or handed in."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from jinja2 import Environment

from tamrin.report.page import PageInfo
from tamrin.report.sections import Figure, Notice, Section, Table, Text, fmt, numeric_columns

_TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
 body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:0 auto;padding:1.5em;color:#222;line-height:1.5}
 header.page{border-bottom:3px solid #2b6cb0;margin-bottom:1em} header.page h1{margin-bottom:.2em}
 .sub{color:#555} nav.toc{background:#f5f7fa;border:1px solid #dde3ea;padding:.6em 1.2em;border-radius:6px}
 nav.toc ul{margin:.2em 0;padding-left:0;list-style:none} nav.toc li{margin:.1em 0} nav.toc li.l1{font-weight:600;margin-top:.35em}
 nav.toc li.l2{margin-left:1.4em;font-size:.95em} nav.toc li.l3{margin-left:2.8em;font-size:.9em} nav.toc a{text-decoration:none;color:#1a4f8b}
 nav.toc a:hover{text-decoration:underline}
 @media print{nav.toc{break-after:page} figure{break-inside:avoid}}
 h2{border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:1.8em} h3{margin-top:1.4em}
 .tablewrap{overflow-x:auto;margin:.8em 0}
 table{border-collapse:collapse;font-size:.9em;font-variant-numeric:tabular-nums}
 th,td{border-bottom:1px solid #dde3ea;padding:.3em .7em;text-align:left;vertical-align:top}
 th{background:#e8eef6;border-bottom:2px solid #9fb3cc} tbody tr:nth-child(even){background:#f7f9fc}
 tbody tr:hover{background:#eef4ff} .num{text-align:right}
 .caption{color:#555;font-size:.85em;padding-top:.35em}
 figure{margin:1em 0;text-align:center} figure img{max-width:100%;height:auto;border:1px solid #e2e2e2} figcaption{color:#555;font-size:.88em}
 .notice{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .9em;margin:.8em 0}
 code{background:#f2f2f2;padding:0 .25em;border-radius:3px}
 .student{display:flex;justify-content:space-between;color:#444;font-size:.9em;border-bottom:1px solid #ccd;padding-bottom:.2em}
 .banner{background:#fde8e8;color:#a00;font-weight:600;text-align:center;padding:.3em;margin:.4em 0;border-radius:4px}
 table.facts td{border:none;padding:.1em .8em .1em 0} table.facts td:first-child{font-weight:600;color:#555}
</style></head><body>
{% if who or banner %}<div class="student"><span dir="auto">{{ who }}</span><span>{{ title }}</span></div>{% endif %}
{% if banner %}<div class="banner">{{ banner }}</div>{% endif %}
<header class="page"><h1 dir="auto">{{ title }}</h1><div class="sub">{{ subtitle }}</div>
{% if facts %}<table class="facts">{% for k, v in facts %}<tr><td>{{ k }}</td><td dir="auto">{{ v }}</td></tr>{% endfor %}</table>{% endif %}
</header>
<nav class="toc"><strong>Contents</strong><ul>
{% for s in sections %}<li class="l{{ s.level }}" dir="auto"><a href="#s{{ loop.index }}">{{ s.title|e }}</a></li>
{% endfor %}</ul></nav>
{% for s in sections %}
<section id="s{{ loop.index }}" class="level{{ s.level }}">
<h{{ s.level + 1 }} dir="auto">{{ s.title|e }}</h{{ s.level + 1 }}>
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
        # dir="auto": a paragraph in Persian (or any right-to-left script) is laid out right-to-left by the browser
        return "\n".join(f'<p dir="auto">{inline(p)}</p>' for p in b.text.split("\n\n") if p.strip())
    if isinstance(b, Notice):
        return f'<div class="notice" dir="auto">{inline(b.text)}</div>'
    if isinstance(b, Table):
        # numbers right-aligned (digits line up), text left-aligned
        cls = ['' if not num else ' class="num"' for num in numeric_columns(b)]
        head = "".join(f"<th{cls[i] if i < len(cls) else ''}>{html.escape(str(c))}</th>" for i, c in enumerate(b.columns))
        rows = "".join("<tr>" + "".join(f"<td{cls[i] if i < len(cls) else ''}>{html.escape(fmt(v))}</td>" for i, v in enumerate(r)) + "</tr>"
                       for r in b.rows)
        # caption outside <table>: a <caption> is only as wide as its (often narrow) table
        cap = f'<div class="caption">{inline(b.caption)}</div>' if b.caption else ""
        return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{cap}</div>'
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


def render_html(sections: list[Section], base: Path, title: str, subtitle: str = "", page: PageInfo | None = None) -> str:
    env = Environment(autoescape=False)
    page = page or PageInfo()
    view = [{"title": s.title, "level": max(1, min(3, s.level)), "blocks": [_block(b, base) for b in s.blocks]} for s in sections]
    return env.from_string(_TEMPLATE).render(title=html.escape(title), subtitle=html.escape(subtitle), sections=view,
                                             who=html.escape(page.student.label()), banner=html.escape(page.banner),
                                             facts=[(html.escape(str(k)), html.escape(str(v))) for k, v in page.facts])
