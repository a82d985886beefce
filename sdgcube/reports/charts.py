"""Charts as small static SVG documents: readable in a browser, in WeasyPrint's PDF and on paper.

No scripts and no external references; text is real text (selectable in the PDF). Two kinds: one
bar per unit for the indicator's value, and one stacked bar per unit for shares of its area.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from sdgcube.reports.content import Chart, format_value

__all__ = ["bar_chart", "line_chart", "stacked_chart"]

_WIDTH, _LABEL, _ROW, _TOP = 640, 170, 26, 28
_BAR = "#2b6f8e"


def _frame(height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="11" role="img">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")  # fmt: skip


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = ""
) -> Chart:
    """One horizontal bar per label; a missing value is marked, not drawn as zero."""
    known = [v for v in values if v is not None]
    top = max([abs(v) for v in known] + [1e-12])
    span = _WIDTH - _LABEL - 90
    zero = _LABEL + (span / 2 if any(v < 0 for v in known) else 0)
    scale = (span / 2 if zero > _LABEL else span) / top
    body = [(f'<text x="{_LABEL}" y="16" font-weight="bold">{escape(title)}'
            f'{f" ({escape(unit)})" if unit else ""}</text>')]  # fmt: skip
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = _TOP + i * _ROW
        body.append(f'<text x="{_LABEL - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            body.append(f'<text x="{zero + 4}" y="{y + 14}" fill="#777">no data</text>')
            continue
        x, w = (zero, value * scale) if value >= 0 else (zero + value * scale, -value * scale)
        body.append(
            f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{_ROW - 8}" fill="{_BAR}"/>'
        )
        body.append(
            f'<text x="{max(x + w, zero) + 4:.1f}" y="{y + 14}">{format_value(value)}</text>'
        )
    height = _TOP + len(labels) * _ROW + 6
    body.append(
        f'<line x1="{zero:.1f}" y1="{_TOP}" x2="{zero:.1f}" y2="{height - 6}" stroke="#333"/>'
    )
    return Chart(title, _frame(height, body, title))


def stacked_chart(
    title: str, labels: Sequence[str], parts: Sequence[tuple[str, str]], values: Sequence[Sequence[float]],
) -> Chart:  # fmt: skip
    """One 100 % bar per label, split into ``parts`` ((name, colour)) by ``values[i]``."""
    span = _WIDTH - _LABEL - 20
    body = [f'<text x="{_LABEL}" y="16" font-weight="bold">{escape(title)}</text>']
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        y, x, whole = _TOP + i * _ROW, float(_LABEL), sum(row) or 1.0
        body.append(f'<text x="{_LABEL - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        for (_, colour), value in zip(parts, row, strict=True):
            w = span * value / whole
            body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{_ROW - 8}" '
                        f'fill="{colour}" stroke="#555" stroke-width="0.3"/>')  # fmt: skip
            x += w
    y = _TOP + len(labels) * _ROW + 8
    x = float(_LABEL)
    for name, colour in parts:
        body.append(f'<rect x="{x:.0f}" y="{y}" width="10" height="10" fill="{colour}" stroke="#555" stroke-width="0.3"/>'
                    f'<text x="{x + 14:.0f}" y="{y + 9}">{escape(name)}</text>')  # fmt: skip
        x += 22 + 6.5 * len(name)
    return Chart(title, _frame(y + 18, body, title))


_LINES = ("#2b6f8e", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


def line_chart(
    title: str, years: Sequence[int], series: Sequence[tuple[str, Sequence[float | None]]], unit: str = ""
) -> Chart:  # fmt: skip
    """One line per series (a unit) over ``years``; gaps where a value is missing."""
    left, right, top, height = 60, _WIDTH - 150, _TOP, 200
    known = [v for _, values in series for v in values if v is not None] or [0.0]
    low, high = min(known), max(known)
    low, high = (low - 1, high + 1) if high == low else (low, high)
    x = {y: left + (right - left) * i / max(1, len(years) - 1) for i, y in enumerate(years)}

    def y_of(value: float) -> float:
        return top + height * (high - value) / (high - low)

    body = [(f'<text x="{left}" y="16" font-weight="bold">{escape(title)}'
            f'{f" ({escape(unit)})" if unit else ""}</text>'),
            f'<line x1="{left}" y1="{top + height}" x2="{right}" y2="{top + height}" stroke="#333"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="#333"/>',
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{format_value(high)}</text>',
            f'<text x="{left - 4}" y="{top + height}" text-anchor="end">{format_value(low)}</text>',
            f'<text x="{left}" y="{top + height + 14}">{years[0]}</text>',
            f'<text x="{right}" y="{top + height + 14}" text-anchor="end">{years[-1]}</text>']  # fmt: skip
    for i, (name, values) in enumerate(series):
        colour = _LINES[i % len(_LINES)]
        points = " ".join(
            f"{x[year]:.1f},{y_of(v):.1f}"
            for year, v in zip(years, values, strict=True)
            if v is not None
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
        )
        body.append(f'<rect x="{right + 12}" y="{top + i * 16}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{right + 26}" y="{top + i * 16 + 9}">{escape(name)}</text>')  # fmt: skip
    return Chart(title, _frame(top + height + 24, body, title))
