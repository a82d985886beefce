"""What a report says, independent of how it is drawn: frozen values built once from a job.

The HTML (and through it the PDF) and the XLSX are renderings of one `Report`, so the three can
never disagree on a number. Values stay numbers here; `format_value` is the one place that turns
them into text for the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Chart",
    "Column",
    "LegendItem",
    "MapFigure",
    "Method",
    "Parameter",
    "Provenance",
    "Report",
    "Table",
    "format_value",
]


def format_value(value: Any) -> str:
    """A cell as the page shows it: numbers rounded to 4 decimals without trailing zeros."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        text = f"{value:,.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, int):  # years stay years: no separator below 10 000
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    unit: str = ""
    """km², %, t C/ha … (shown under the title)."""


@dataclass(frozen=True)
class Table:
    """A titled table; ``rows`` hold values in the order of ``columns``."""

    name: str
    """Short name: the XLSX sheet's."""
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    """Where the layout comes from, what the denominators are."""
    total: tuple[Any, ...] | None = None
    """A last row for the whole area, in the order of ``columns``."""


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str
    """``#rrggbb``."""


@dataclass(frozen=True)
class MapFigure:
    """One result raster drawn from the cube, as a PNG, with its legend."""

    title: str
    collection: str
    png: bytes
    legend: tuple[LegendItem, ...]
    """Classes; for a continuous layer, the colours of its ramp from low to high."""
    ramp: tuple[float, float] | None = None
    """The values at the two ends of a continuous ramp; None for classes."""
    units: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    """An inline SVG document (no scripts, no external references)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    value: Any
    description: str = ""


@dataclass(frozen=True)
class Method:
    process_id: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class Provenance:
    job_id: str
    process_id: str
    owner: str
    created: str
    finished: str
    software: str
    input_products: tuple[str, ...]
    input_datasets: tuple[str, ...]
    collections: tuple[str, ...]
    """The job's result collections (rasters and the per-unit vector layer)."""


@dataclass(frozen=True)
class Report:
    """Everything one report shows."""

    title: str
    indicator: str
    series: str
    unit_measure: str
    value_field: str
    """The per-unit column reported as the indicator's value (SDMX OBS_VALUE)."""
    time_period: str
    area: str
    periods: tuple[tuple[str, str], ...]
    """(label, description) of each assessed period."""
    units: tuple[tuple[str, str], ...]
    """(unit id, unit name) in table order."""
    rows: tuple[dict[str, Any], ...]
    """The job's per-unit table, exactly as it published it."""
    summary: Table
    tables: tuple[Table, ...]
    """Further tables (for 15.3.1: the UNCCD SO1 tables)."""
    maps: tuple[MapFigure, ...]
    charts: tuple[Chart, ...]
    method: Method
    provenance: Provenance
    generated: str
    extra: dict[str, Any] = field(default_factory=dict)
