"""A `Report` from a finished indicator job: its row in the job table, its result document and
per-unit table, the process description, and its result products in the cube.

The job is looked up as the caller sees it (`visible_job`: another user's job is unknown), and
only a successful job of an indicator process (one that published a per-unit table) has a report.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdgcube.errors import NoData
from sdgcube.reports import so1
from sdgcube.reports.charts import bar_chart, line_chart, stacked_chart
from sdgcube.reports.content import (
    Chart,
    Column,
    MapFigure,
    Method,
    Parameter,
    Provenance,
    Report,
    Table,
)

__all__ = ["NoReport", "build_report", "job_for_report"]

_MAPS_1531 = (("sdg", "SDG 15.3.1 (baseline)"), ("status", "Status in the reporting period"),
              ("lpd", "Land productivity dynamics (baseline)"))  # fmt: skip
_MAX_MAPS = 3
_SHARES = (
    ("Degraded", "#ab2727"),
    ("Stable", "#ffffe0"),
    ("Improved", "#45a146"),
    ("No data", "#bdbdbd"),
)


class NoReport(NoData):
    """A job that exists but has no report: not finished, not successful, or not an indicator."""


def job_for_report(services: Any, job_id: str, caller: Any) -> tuple[Any, dict[str, Any]]:
    """The job record and its result document; `UnknownJob` if the caller may not see it."""
    from sdgcube.app.jobs_routes import visible_job

    record = visible_job(services.jobs, job_id, caller)
    if record.status != "successful":
        raise NoReport(f"job {job_id!r} is {record.status}: only a successful job has a report")
    location = Path(record.location or "")
    document = json.loads(location.read_text()) if location.is_file() else {}
    if not isinstance(document.get("summary"), dict) or not document["summary"].get("rows"):
        raise NoReport(
            f"job {job_id!r} ({record.process_id}) is not an indicator job: it has no per-unit table"
        )
    return record, document


def _value_field(rows: Sequence[Mapping[str, Any]], sdmx: Path) -> tuple[str, str]:
    """The column the job reported as OBS_VALUE and its SDMX unit, read back from its SDMX-CSV."""
    if not sdmx.is_file():
        return next((k for k in rows[0] if k not in ("unit_id", "unit_name")), "unit_id"), ""
    records = list(csv.DictReader(io.StringIO(sdmx.read_text())))
    values = {r["REF_AREA"]: r["OBS_VALUE"] for r in records}
    unit = records[0]["UNIT_MEASURE"] if records else ""
    for key in rows[0]:
        if all(
            str(values.get(r["unit_id"], "")) == ("" if r.get(key) is None else str(r.get(key)))
            for r in rows
        ) and key not in ("unit_id", "unit_name"):
            return key, unit
    return next(k for k in rows[0] if k not in ("unit_id", "unit_name")), unit


def _summary_table(rows: Sequence[Mapping[str, Any]], value_field: str) -> Table:
    keys = [value_field] + [k for k in rows[0] if k not in ("unit_id", "unit_name", value_field)]
    columns = (
        Column("unit_id", "Unit id"),
        Column("unit_name", "Unit"),
        *(Column(k, k.replace("_", " ")) for k in keys),
    )
    body = tuple((r["unit_id"], r["unit_name"], *(r.get(k) for k in keys)) for r in rows)
    return Table("Per unit", "Per-unit table", columns, body)


def _periods(document: Mapping[str, Any], time_period: str) -> tuple[tuple[str, str], ...]:
    periods = document.get("periods")
    if isinstance(periods, dict):

        def text(p: Mapping[str, Any]) -> str:
            parts = [f"{name.replace('_', ' ')} {v[0]}–{v[1]}" for name, v in p.items()
                     if isinstance(v, list) and len(v) == 2]  # fmt: skip
            return f"{p.get('time_period', '')}: " + ", ".join(parts)

        return tuple((label, text(p)) for label, p in periods.items())
    years = document.get("years")
    out = [("reporting period", time_period)]
    if isinstance(years, list) and years:
        out.append(("years", f"{min(years)}–{max(years)} ({len(years)} years)"))
    return tuple(out)


def _area(
    inputs: Mapping[str, Any], units: Sequence[tuple[str, str]], bbox: Sequence[float] | None
) -> str:
    names = ", ".join(f"{name} ({uid})" for uid, name in units)
    where = (
        f"units of layer {inputs['units_layer']!r}"
        if inputs.get("units_layer")
        else "the requested area"
    )
    box = f"; extent {', '.join(f'{v:.4f}' for v in bbox)} (WGS 84 lon/lat)" if bbox else ""
    return f"{len(units)} reporting unit(s), {where}: {names}{box}"


def _method(process_id: str, parameters: Mapping[str, Any]) -> Method:
    from sdgcube.processes.executor import load_processor
    from sdgcube.processes.registry import PROCESSES

    metadata = load_processor(PROCESSES[process_id]).metadata if process_id in PROCESSES else {}
    title, description = (_text(metadata.get(k, "")) for k in ("title", "description"))
    described = metadata.get("inputs", {})
    params = tuple(Parameter(name, value, _text(described.get(name, {}).get("description")) or _text(described.get(name, {}).get("title")))
                   for name, value in parameters.items())  # fmt: skip
    return Method(process_id, title or process_id, description, params)


def _text(value: Any) -> str:
    """pygeoapi's metadata texts may be per language: English, else the first."""
    if isinstance(value, dict):
        return str(value.get("en") or next(iter(value.values()), ""))
    return str(value or "")


def _lineage(cube: Any, products: Sequence[str]) -> tuple[set[str], set[str], str]:
    datasets, inputs, software = set(), set(), ""
    for product in products:
        for ds in cube.datasets(product):
            properties = ds.metadata_doc.get("properties", {})
            datasets.update(properties.get("sdgcube:input_datasets", []))
            inputs.update(properties.get("sdgcube:input_products", []))
            software = software or properties.get("sdgcube:software", "")
    return datasets, inputs, software


def _maps(
    cube: Any, document: Mapping[str, Any], geometries: Sequence[Any]
) -> tuple[MapFigure, ...]:
    from sdgcube.reports.maps import render_map

    collections: Mapping[str, str] = document.get("collections", {})
    wanted = [(k, t) for k, t in _MAPS_1531 if k in collections] if "sdg" in collections else [
        (k, k.replace("_", " ").capitalize()) for k in collections][:_MAX_MAPS]  # fmt: skip
    return tuple(
        render_map(cube, collections[k], title=t, part=k, units=geometries) for k, t in wanted
    )


def _yearly(
    document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], value_field: str
) -> list[Chart]:
    """A yearly series per unit (``yearly`` rows of unit, year and the value), if the job made one."""
    yearly = document.get("yearly")
    if not isinstance(yearly, list) or not yearly or value_field not in yearly[0]:
        return []
    years = sorted({int(r["year"]) for r in yearly})
    by = {(str(r["unit_id"]), int(r["year"])): r.get(value_field) for r in yearly}
    series = [(str(r["unit_name"]), [by.get((str(r["unit_id"]), y)) for y in years]) for r in rows]
    return [line_chart(f"{value_field.replace('_', ' ')} per year", years, series)]


def _charts(document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], value_field: str,
            unit: str) -> tuple[Chart, ...]:  # fmt: skip
    labels = [str(r["unit_name"]) for r in rows]
    charts = [
        bar_chart(value_field.replace("_", " "), labels, [r.get(value_field) for r in rows], unit)
    ]
    for prefix, label in (("", "baseline"), ("reporting_", "reporting period")):
        if f"{prefix}degraded_km2" in rows[0]:
            shares = [
                [
                    r.get(f"{prefix}{k}_km2") or 0.0
                    for k in ("degraded", "stable", "improved", "no_data")
                ]
                for r in rows
            ]
            charts.append(
                stacked_chart(f"Share of land per unit, {label}", labels, _SHARES, shares)
            )
    return (*charts, *_yearly(document, rows, value_field))


def build_report(services: Any, record: Any, document: dict[str, Any]) -> Report:
    """Everything the report of this job shows (reads the cube: maps and, for 15.3.1, SO1 tables)."""
    cube, summary = services.cube, document["summary"]
    rows = tuple(summary["rows"])
    folder = services.settings.data_dir / "jobs" / record.identifier / "outputs"
    value_field, unit = _value_field(rows, folder / "summary.sdmx.csv")
    layer = summary.get("features_collection")
    features = cube.vectors.query_features(layer, limit=100_000)[0] if layer else []
    geometries = {str(f.properties.get("unit_id", f.fid)): f.geometry for f in features}
    units = tuple((str(r["unit_id"]), str(r["unit_name"])) for r in rows)
    products = sorted(set(document.get("collections", {}).values()))
    datasets, inputs, software = _lineage(cube, products)
    tables: tuple[Table, ...] = ()
    if summary.get("indicator") == "15.3.1" and "sdg" in document.get("collections", {}):
        grid = so1.Grid.of(
            cube, document["collections"]["sdg"], [(u, n, geometries[u]) for u, n in units]
        )
        tables = so1.so1_tables(grid, document, record.parameters)
    bbox = cube.vectors.get_layer(layer).bbox if layer else None
    from sdgcube.processes.results import software_version

    method = _method(record.process_id, record.parameters)
    return Report(
        title=f"{method.title}: indicator report",
        indicator=str(summary.get("indicator", "")), series=str(summary.get("series", "")), unit_measure=unit,
        value_field=value_field, time_period=str(summary.get("time_period", "")),
        area=_area(record.parameters, units, bbox), periods=_periods(document, str(summary.get("time_period", ""))),
        units=units, rows=rows, summary=_summary_table(rows, value_field), tables=tables,
        maps=_maps(cube, document, list(geometries.values())), charts=_charts(document, rows, value_field, unit),
        method=method,
        provenance=Provenance(record.identifier, record.process_id, record.owner, record.created.isoformat(),
                              record.finished.isoformat() if record.finished else "", software or software_version(),
                              tuple(sorted(inputs)), tuple(sorted(datasets)), (*products, *([layer] if layer else []))),
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
