"""The report as an XLSX workbook (openpyxl): one sheet per table, numbers as numbers.

For ``sdg-15-3-1`` the sheets follow the UNCCD SO1 reporting tables (see `sdgcube.reports.so1`):
SO1-1 land cover (area per class and its change, the change matrix, the land-cover
sub-indicator), SO1-2 land productivity dynamics, SO1-3 soil organic carbon, and SO1-4 / SDG 15.3.1
the proportion of degraded land per unit and in total. Every indicator also gets its plain
per-unit table exactly as the job published it, and a sheet with the report's facts (area,
periods, method parameters, provenance).
"""

from __future__ import annotations

import io
import json
from typing import Any

from sdgcube.reports.content import Report, Table

__all__ = ["render_xlsx", "sheet_name"]

_HEADER_FILL = "EEF3F7"


def sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``."""
    return "".join("-" if c in "[]:*?/\\" else c for c in name)[:31]


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float | str) else json.dumps(value)


def _table_sheet(workbook: Any, table: Table) -> None:
    from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]

    sheet = workbook.create_sheet(sheet_name(table.name))
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=12)
    header = [f"{c.title} ({c.unit})" if c.unit else c.title for c in table.columns]
    sheet.append(header)
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor=_HEADER_FILL)
    for row in table.rows:
        sheet.append([_cell(v) for v in row])
    if table.total is not None:
        sheet.append([_cell(v) for v in table.total])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    if table.note:
        sheet.append([])
        sheet.append([table.note])
    sheet.freeze_panes = "C3" if len(table.columns) > 2 else "A3"
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(2, index).column_letter].width = max(
            10, min(40, len(title) + 2)
        )


def _rows_sheet(workbook: Any, report: Report) -> None:
    """The per-unit table as the job published it: one column per field, keys as headers."""
    sheet = workbook.create_sheet("Per unit")
    keys: list[str] = []
    for row in report.rows:
        keys += [k for k in row if k not in keys]
    sheet.append(keys)
    for row in report.rows:
        sheet.append([_cell(row.get(k)) for k in keys])
    sheet.freeze_panes = "C2"


def _about_sheet(workbook: Any, report: Report) -> None:
    from openpyxl.styles import Font

    sheet = workbook.active
    sheet.title = "Report"
    p = report.provenance
    facts: list[tuple[str, Any]] = [
        ("Title", report.title), ("Indicator", f"SDG {report.indicator}"), ("Series", report.series),
        ("Unit of measure", report.unit_measure), ("Value reported", report.value_field),
        ("Reporting period", report.time_period), ("Area", report.area),
        *((f"Period: {label}", text) for label, text in report.periods),
        ("Job", p.job_id), ("Process", p.process_id), ("Submitted by", p.owner), ("Created", p.created),
        ("Finished", p.finished), ("Software", p.software), ("Generated", report.generated),
        ("Input products", ", ".join(p.input_products)), ("Input datasets", ", ".join(p.input_datasets)),
        ("Results", ", ".join(p.collections)),
    ]  # fmt: skip
    for key, value in facts:
        sheet.append([key, value])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.append([])
    sheet.append(["Parameter", "Value", "Description"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for param in report.method.parameters:
        sheet.append([param.name, json.dumps(param.value), param.description])
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 22, 60


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook()
    _about_sheet(workbook, report)
    for table in report.tables:
        _table_sheet(workbook, table)
    _rows_sheet(workbook, report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
