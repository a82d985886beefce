"""The ``sdg-15-3-1`` per-unit table from the summed km² per (unit, class) of the blocks."""

from __future__ import annotations

from typing import Any

import numpy as np

from sdgcube.processes._sdg_15_3_1_inputs import Periods
from sdgcube.processes.regions import Region
from sdgcube.processes.reporting import SummaryTable

__all__ = ["summary_rows", "summary_table"]


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 4) if whole > 0 else None


def _columns(areas: np.ndarray, prefix: str) -> dict[str, Any]:
    degraded, stable, improved, water, no_data = (float(a) for a in areas)
    land = degraded + stable + improved + no_data
    return {
        f"{prefix}degraded_km2": round(degraded, 6), f"{prefix}stable_km2": round(stable, 6),
        f"{prefix}improved_km2": round(improved, 6), f"{prefix}no_data_km2": round(no_data, 6),
        f"{prefix}water_km2": round(water, 6), f"{prefix}land_km2": round(land, 6),
        f"{prefix}degraded_pct": _pct(degraded, land),
        f"{prefix}degraded_pct_excluding_no_data": _pct(degraded, degraded + stable + improved),
        f"{prefix}degraded_pct_of_area": _pct(degraded, land + water),
    }  # fmt: skip


def summary_rows(
    unit_names: list[tuple[str, str]], baseline: np.ndarray, status: np.ndarray | None = None
) -> tuple[dict[str, Any], ...]:
    """One row per unit from its km² (degraded, stable, improved, water, no data) of the baseline and,
    if given, of the reporting period's status (its water: the reporting period's baseline water),
    with the change in percentage points.

    The three proportions differ in their denominator: ``degraded_pct`` divides by ``land_km2``
    (degraded + stable + improved + no data: the unit without its baseline water), the SDG 15.3.1
    value; ``degraded_pct_excluding_no_data`` by degraded + stable + improved;
    ``degraded_pct_of_area`` by ``area_km2`` (land and water), as Trends.Earth's summary table does."""
    rows = []
    for i, (unit_id, name) in enumerate(unit_names):
        row: dict[str, Any] = {
            "unit_id": unit_id,
            "unit_name": name,
            "area_km2": round(float(baseline[i].sum()), 6),
        }
        row.update(_columns(baseline[i], ""))
        if status is not None:
            row.update(_columns(status[i], "reporting_"))
            before, after = row["degraded_pct"], row["reporting_degraded_pct"]
            row["change_degraded_pct_points"] = (
                None if None in (before, after) else round(after - before, 4)
            )
        rows.append(row)
    return tuple(rows)


def summary_table(
    region: Region, assessments: tuple[Periods, ...], areas: np.ndarray
) -> SummaryTable:
    """The per-unit table: the baseline, and the reporting period's status if there is one;
    ``areas`` is (unit, 5) km², or (unit, 10) with the status's after the baseline's."""
    names = [(u.id, u.name) for u in region.units]
    if len(assessments) == 2:
        rows = summary_rows(names, areas[:, :5], areas[:, 5:])
        field, period = "reporting_degraded_pct", assessments[1].time_period
    else:
        rows = summary_rows(names, areas)
        field, period = "degraded_pct", assessments[0].time_period
    return SummaryTable(indicator="15.3.1", series="AG_LND_DGRD", unit_measure="PT", value_field=field,
                        time_period=period, rows=rows)  # fmt: skip
