"""The report as PDF: WeasyPrint lays out the same HTML page (A4, wide tables on landscape pages)."""

from __future__ import annotations

from sdgcube.reports.content import Report
from sdgcube.reports.html import render_html

__all__ = ["render_pdf"]


def render_pdf(report: Report) -> bytes:
    """PDF bytes. Only ``data:`` URLs may be fetched: every image is already in the page, and a
    report must never reach the network or the server's files."""
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    fetcher = URLFetcher(allowed_protocols={"data"})
    return bytes(HTML(string=render_html(report), url_fetcher=fetcher).write_pdf())
