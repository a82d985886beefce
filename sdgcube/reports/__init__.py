"""Reports of finished indicator jobs: HTML, PDF (WeasyPrint, from the same HTML) and XLSX.

``build_report`` makes one `Report` from a job (its table row, result document, per-unit table,
process description and result products in the cube); ``render`` draws it in a format. The heavy
libraries (WeasyPrint, openpyxl, the tiler) are imported only when a report is made.
"""

from __future__ import annotations

from collections.abc import Callable

from sdgcube.errors import InvalidRequest
from sdgcube.reports.build import NoReport, build_report, job_for_report
from sdgcube.reports.content import Report

__all__ = [
    "FORMATS",
    "NoReport",
    "Report",
    "build_report",
    "job_for_report",
    "norm_format",
    "render",
]

FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""Report format → media type."""


def norm_format(value: str | None) -> str:
    """``f`` as given (default ``html``); `InvalidRequest` naming it if it is not a report format."""
    name = (value or "html").lower()
    if name not in FORMATS:
        raise InvalidRequest(f"f={value!r} is not a report format; one of {', '.join(FORMATS)}")
    return name


def render(report: Report, fmt: str) -> bytes:
    """The report as bytes of format ``fmt`` (see `FORMATS`)."""
    renderers: dict[str, Callable[[Report], bytes]] = {
        "html": lambda r: _html(r).encode("utf-8"),
        "pdf": _pdf,
        "xlsx": _xlsx,
    }
    return renderers[norm_format(fmt)](report)


def _html(report: Report) -> str:
    from sdgcube.reports.html import render_html

    return render_html(report)


def _pdf(report: Report) -> bytes:
    from sdgcube.reports.pdf import render_pdf

    return render_pdf(report)


def _xlsx(report: Report) -> bytes:
    from sdgcube.reports.xlsx import render_xlsx

    return render_xlsx(report)
