"""Jinja2 templates (package data, autoescaped) and the headers every page is sent with."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "Page", "Templates"]

_DASH = "\u2013"  # shown for a missing value

#: Pages load nothing from elsewhere and run only the UI's own script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Page:
    """A page function's result: which template, with what, under which status."""

    template: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return _DASH
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _DASH if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e12):
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) >= 1e4 or abs(value) < 1e-3 else f"{value:.4f}"


def _short(value: str, length: int = 12) -> str:
    return value if len(value) <= length else value[:length] + "…"


class Templates:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("falaj.ui", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(when=_when, num=_num, short=_short)

    def render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**values)

    @staticmethod
    def response(html: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
