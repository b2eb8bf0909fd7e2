"""The page every report is rendered into: one HTML file, inline CSS, inline SVG, no script.

Nothing is fetched when the page is opened (no CDN, web font, stylesheet or script), so reports
open the same on an air-gapped site as anywhere else. :func:`external_references` finds any
reference that would be fetched, and is what the tests check a report against.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["dumps", "external_references", "fmt", "page", "table"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1080px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.meta{color:#555;font-size:.9em}.charts{display:flex;flex-wrap:wrap;gap:1em}
.pass{color:#176f2c;font-weight:bold}.fail{color:#b00020;font-weight:bold}
.none{color:#8a6d00;font-weight:bold}.flag{background:#fff4d6}
code{background:#f4f4f4;padding:0 .25em}svg{max-width:100%;height:auto}
"""

_EXTERNAL = re.compile(
    r"""(<script\b|<link\b|<iframe\b|<object\b|<embed\b|"""
    r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import)""",
    re.IGNORECASE,
)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """Strict JSON of a report: NaN and infinities (an undefined metric) become null."""
    return json.dumps(
        _finite(json.loads(json.dumps(data, default=str))),
        indent=indent,
        sort_keys=True,
        allow_nan=False,
    )


def external_references(document: str) -> list[str]:
    """Every script, stylesheet link or http(s) resource the document would fetch."""
    return [m.group(0) for m in _EXTERNAL.finditer(document)]


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.{digits}g}"
    return escape(str(value))


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, flagged: Sequence[bool] | None = None
) -> str:
    """An HTML table; cell values are escaped unless they are pre-rendered ``Markup``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="flag"' if flagged is not None and flagged[i] else ""
        cells = "".join(f"<td>{c.html if isinstance(c, Markup) else fmt(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Markup:
    """Pre-rendered HTML (from this package's own helpers) that a table must not escape."""

    def __init__(self, html: str) -> None:
        self.html = html


def page(
    title: str,
    sections: Sequence[tuple[str, str]],
    *,
    meta: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> str:
    """A complete HTML document; ``data`` is embedded as inert JSON for machines."""
    meta_html = " · ".join(f"{escape(str(k))}: <code>{fmt(v)}</code>" for k, v in meta.items())
    body = "".join(f"<h2>{escape(h)}</h2>{content}" for h, content in sections)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    embedded = ""
    if data is not None:
        text = dumps(data, indent=None)
        embedded = f'<template id="report-data" data-format="json">{escape(text)}</template>'
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta_html} · generated {generated}</p>'
        f"{body}{embedded}</body></html>"
    )
