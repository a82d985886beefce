"""Per-unit indicator tables as statistics offices and GIS users take them.

One table becomes: rows in the job's result document (JSON), a CSV file, an SDMX-CSV file shaped
like the UN SDG data exchange (series, reference area, time period, value, unit) and a vector
layer (unit geometry + values) that the server publishes as an OGC API Features collection for
choropleths in QGIS. Files are written under the job's ``outputs`` folder atomically.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdgcube.datacube.cog import atomic_path
from sdgcube.processes.context import JobContext
from sdgcube.processes.regions import Region
from sdgcube.processes.results import result_product_name

__all__ = [
    "SDMX_DATAFLOW",
    "SummaryTable",
    "outputs_dir",
    "publish_summary",
    "sdmx_csv",
    "table_csv",
]

SDMX_DATAFLOW = "IAEG-SDGs:DF_SDG_GLH(1.0)"
"""The global SDG indicator dataflow of the UN SDG data exchange (SDMX)."""


@dataclass(frozen=True)
class SummaryTable:
    """One value per reporting unit (plus whatever breakdown columns the indicator has)."""

    indicator: str
    """SDG indicator number, e.g. ``15.3.1``."""
    series: str
    """SDMX series code, e.g. ``AG_LND_DGRD`` (proportion of land that is degraded)."""
    unit_measure: str
    """SDMX unit code of ``value_field``: ``PT`` percent, ``KM2``, ``NUMBER``, ``RO`` ratio…"""
    value_field: str
    """The column reported as OBS_VALUE."""
    time_period: str
    """The reporting period, e.g. ``2015-2019`` or ``2020``."""
    rows: tuple[dict[str, Any], ...]
    """Each row has ``unit_id`` and ``unit_name``, then the indicator's columns; a row with its own
    ``time_period`` (a yearly series) overrides the table's."""


def outputs_dir(ctx: JobContext) -> Path:
    return ctx.settings.data_dir / "jobs" / ctx.job_id / "outputs"


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def table_csv(table: SummaryTable) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(table.rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table.rows)
    return buffer.getvalue()


def sdmx_csv(table: SummaryTable) -> str:
    """SDMX-CSV (one observation per unit), as the UN SDG data exchange shapes it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["DATAFLOW", "FREQ", "SERIES", "REF_AREA", "TIME_PERIOD", "UNIT_MEASURE", "OBS_VALUE"]
    )
    for row in table.rows:
        value = row.get(table.value_field)
        writer.writerow([SDMX_DATAFLOW, "A", table.series, row["unit_id"], row.get("time_period", table.time_period),
                         table.unit_measure, "" if value is None else value])  # fmt: skip
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def publish_summary(
    ctx: JobContext, table: SummaryTable, region: Region, *, prefix: str
) -> dict[str, Any]:
    """Write the table's files and vector layer; the part of the result document that lists them."""
    folder = outputs_dir(ctx)
    base = f"{ctx.settings.base_url}/jobs/{ctx.job_id}/outputs"
    _write(folder / "summary.json", json.dumps(list(table.rows), indent=2, default=str))
    _write(folder / "summary.csv", table_csv(table))
    _write(folder / "summary.sdmx.csv", sdmx_csv(table))
    geometries = {unit.id: unit.geometry for unit in region.units}
    layer = result_product_name(prefix, ctx.job_id) + "_units"
    ctx.services.jobs.add_results(ctx.job_id, [layer])
    ctx.cube.vectors.upsert_layer_features(
        layer,
        [(row["unit_id"], geometries[row["unit_id"]], row) for row in table.rows],
        title=f"SDG {table.indicator} per unit, {table.time_period}",
        description=f"Series {table.series} ({table.unit_measure}) from job {ctx.job_id}",
        replace=True,
    )
    return {
        "rows": list(table.rows),
        "indicator": table.indicator,
        "series": table.series,
        "time_period": table.time_period,
        "csv": f"{base}/summary.csv",
        "sdmx_csv": f"{base}/summary.sdmx.csv",
        "json": f"{base}/summary.json",
        "features": f"{ctx.settings.base_url}/collections/{layer}/items",
        "features_collection": layer,
    }
