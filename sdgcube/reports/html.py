"""The report as one self-contained HTML page (maps as ``data:`` URIs, charts as inline SVG):
what ``?f=html`` answers and what WeasyPrint lays out as the PDF."""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from sdgcube.reports.content import Report, format_value

__all__ = ["render_html"]


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("sdgcube.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    env.globals["fmt"] = format_value
    return env


def render_html(report: Report) -> str:
    return str(_environment().get_template("report.html.j2").render(r=report))
