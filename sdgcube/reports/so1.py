"""The UNCCD reporting tables of Strategic Objective 1 for a ``sdg-15-3-1`` job, from the cube.

Layout after the UNCCD PRAIS reporting tables for SO1 (PRAIS4 Reporting Manual, "Strategic
objective 1", https://prais4-reporting-manual.readthedocs.io/en/latest/ , and the 2017-2018
"Reporting manual for the UNCCD reporting process", indicators SO1-1 "Trends in land cover",
SO1-2 "Trends in land productivity or functioning of the land", SO1-3 "Trends in carbon stocks
above and below ground" and SDG indicator 15.3.1 "Proportion of land that is degraded over total
land area"), as Trends.Earth's summary tables fill them (docs.trends.earth, "Land degradation and
SDG 15.3.1"):

- SO1-1: land area per UNCCD land-cover class in the baseline and target years with the net
  change (km², %), one block per unit then the whole area; the land-cover change matrix (km²,
  baseline class → target class) of the whole area; the land-cover sub-indicator (degraded /
  stable / improved / no data km²) per unit.
- SO1-2: land area per land productivity dynamics class (declining, moderate decline, stressed,
  stable, increasing, no data; km²) per unit, for the baseline and, if assessed, the reporting period.
- SO1-3: soil organic carbon stock in the top 30 cm (mean t C/ha and total t C) in the baseline and
  target years with its change, and the SOC sub-indicator areas, per unit.
- SO1-4 (SDG 15.3.1): total, water and land area, degraded / stable / improved / no-data land and
  the proportion of degraded land per unit and in total — the job's own per-unit numbers.

Areas are geodesic pixel areas (km²) on the grid of the job's result rasters; inputs are read onto
that grid (nearest neighbour).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdgcube.reports.content import Column, Table

__all__ = ["Grid", "proportion_table", "so1_tables"]

LAND_COVER = (
    "Tree-covered",
    "Grassland",
    "Cropland",
    "Wetland",
    "Artificial",
    "Other land",
    "Water body",
)
LPD = ("Declining", "Moderate decline", "Stressed", "Stable", "Increasing", "No data")
_SUB = (Column("degraded_km2", "Degraded", "km²"), Column("stable_km2", "Stable", "km²"),
        Column("improved_km2", "Improved", "km²"), Column("no_data_km2", "No data", "km²"))  # fmt: skip
_UNIT = (Column("unit_id", "Unit id"), Column("unit_name", "Unit"))
_NO_CLASS = -128


@dataclass(frozen=True)
class Grid:
    """The result grid with the units burnt in and each pixel's area."""

    cube: Any
    geobox: Any
    units: np.ndarray
    """int32: 0 outside every unit, i + 1 in unit i."""
    area_km2: np.ndarray
    names: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls, cube: Any, product: str, units: Sequence[tuple[str, str, Mapping[str, Any]]]
    ) -> Grid:
        from shapely.geometry import shape

        from sdgcube.datacube.areas import pixel_area_km2
        from sdgcube.processes.regions import Region, Unit, unit_index_raster

        geobox = cube.load(product, chunks=None).odc.geobox
        parts = tuple(Unit(uid, name, shape(geometry)) for uid, name, geometry in units)
        region = Region(geometry=parts[0].geometry, units=parts)
        return cls(cube, geobox, unit_index_raster(region, geobox), pixel_area_km2(geobox),
                   tuple((u.id, u.name) for u in parts))  # fmt: skip

    def read(self, product: str, year: int | None = None) -> np.ndarray:
        """The first band of ``product`` (in ``year``) on this grid, float64 with NaN for no data."""
        data = self.cube.load(product, geobox=self.geobox, time=None if year is None else str(year),
                              chunks=None, mask_nodata=True)  # fmt: skip
        values = next(iter(data.data_vars.values())).values
        return np.asarray(values[0] if values.ndim == 3 else values, dtype="float64")

    def areas(self, values: np.ndarray, classes: Sequence[int]) -> np.ndarray:
        """km² per (unit, class) and a last row for all units; NaN counts as ``classes[-1]`` if
        that is the no-data code ``_NO_CLASS``, else not at all."""
        from sdgcube.indicators.zonal import class_area_by_unit

        codes = np.where(np.isfinite(values), np.rint(values), _NO_CLASS).astype(np.int64)
        codes = np.where(np.isin(codes, classes), codes, _NO_CLASS)
        table = class_area_by_unit(codes, self.units, self.area_km2, n_units=len(self.names),
                                   class_values=sorted({*classes, _NO_CLASS}))  # fmt: skip
        order = [sorted({*classes, _NO_CLASS}).index(c) for c in classes]
        table = table[:, order]
        return np.vstack([table, table.sum(axis=0)])


def _r(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


def _rows(grid: Grid, table: np.ndarray) -> tuple[tuple[tuple[Any, ...], ...], tuple[Any, ...]]:
    rows = tuple(
        (uid, name, *(_r(v) for v in table[i])) for i, (uid, name) in enumerate(grid.names)
    )
    return rows, ("total", "All units", *(_r(v) for v in table[-1]))


def _sub_indicator(grid: Grid, product: str, name: str, title: str) -> Table:
    rows, total = _rows(grid, grid.areas(grid.read(product), (-1, 0, 1, _NO_CLASS)))
    return Table(name, title, _UNIT + _SUB, rows, total=total)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 4) if whole > 0 else None


def land_cover_tables(grid: Grid, inputs: Mapping[str, Any], period: Mapping[str, Any],
                      collections: Mapping[str, str]) -> list[Table]:  # fmt: skip
    """SO1-1: area per class in both years per unit, the change matrix, the sub-indicator."""
    product = inputs.get("land_cover_product", "land_cover")
    first, last = period["land_cover"]
    before, after = grid.read(product, first), grid.read(product, last)
    classes = (*tuple(range(1, 8)), _NO_CLASS)
    a, b = grid.areas(before, classes), grid.areas(after, classes)
    rows = []
    for i, (uid, name) in enumerate((*grid.names, ("total", "All units"))):
        for c, label in enumerate((*LAND_COVER, "No data")):
            rows.append(
                (
                    uid,
                    name,
                    label,
                    _r(a[i, c]),
                    _r(b[i, c]),
                    _r(b[i, c] - a[i, c]),
                    _pct(b[i, c] - a[i, c], a[i, c]),
                )
            )
    per_class = Table("SO1-1 land cover", f"SO1-1 Land area per land-cover class, {first} and {last}",
                      (*_UNIT, Column("class", "Land-cover class"), Column("baseline_km2", f"{first}", "km²"),
                       Column("target_km2", f"{last}", "km²"), Column("change_km2", "Net change", "km²"),
                       Column("change_pct", "Net change", "%")), tuple(rows),
                      note=f"Input product {product!r}; UNCCD 7-class legend.")  # fmt: skip
    valid = (grid.units > 0) & np.isfinite(before) & np.isfinite(after)
    matrix = np.array([[grid.area_km2[valid & (np.rint(before) == c0) & (np.rint(after) == c1)].sum()
                        for c1 in range(1, 8)] for c0 in range(1, 8)])  # fmt: skip
    labels = (*LAND_COVER, "No data")
    change = Table("SO1-1 change matrix", f"SO1-1 Land-cover change matrix, {first} → {last} (all units, km²)",
                   (Column("from", f"{first} \\ {last}"), *(Column(f"to_{k}", lab, "km²") for k, lab in enumerate(LAND_COVER))),
                   tuple((labels[i], *(_r(v) for v in matrix[i, :7])) for i in range(7)))  # fmt: skip
    degradation = _sub_indicator(
        grid,
        collections["land_cover"],
        "SO1-1 degradation",
        "SO1-1 Land-cover sub-indicator (baseline)",
    )
    return [per_class, change, degradation]


def lpd_table(grid: Grid, product: str, label: str, name: str) -> Table:
    """SO1-2: area per land productivity dynamics class per unit."""
    values = grid.read(product)
    table = grid.areas(values, (1, 2, 3, 4, 5, _NO_CLASS))
    rows, total = _rows(grid, table)
    columns = tuple(
        Column(f"lpd_{i + 1 if i < 5 else 'no_data'}", lab, "km²") for i, lab in enumerate(LPD)
    )
    return Table(name, f"SO1-2 Land productivity dynamics, {label}", _UNIT + columns, rows, total=total,
                 note="Classes of the job's LPD raster (Trends.Earth's five-class LPD).")  # fmt: skip


def soc_table(
    grid: Grid, inputs: Mapping[str, Any], period: Mapping[str, Any], collections: Mapping[str, str]
) -> Table:
    """SO1-3: SOC stock (mean t C/ha, total t C) in both years, its change, and the sub-indicator."""
    product = inputs.get("soc_product", "soil_organic_carbon")
    first, last = period["soc"]
    stocks = [grid.read(product, year) for year in (first, last)]
    sub = grid.areas(grid.read(collections["soc"]), (-1, 0, 1, _NO_CLASS))
    rows: list[tuple[Any, ...]] = []
    for i, (uid, name) in enumerate((*grid.names, ("total", "All units"))):
        inside = grid.units == i + 1 if uid != "total" else grid.units > 0
        cells: list[Any] = []
        for stock in stocks:
            ok = inside & np.isfinite(stock)
            mean = float(stock[ok].mean()) if ok.any() else None
            total = float((stock[ok] * grid.area_km2[ok] * 100.0).sum()) if ok.any() else None
            cells += [
                None if mean is None else _r(mean, 4),
                None if total is None else _r(total, 1),
            ]
        change = None if None in (cells[1], cells[3]) else _r(cells[3] - cells[1], 1)
        rows.append(
            (
                uid,
                name,
                *cells,
                change,
                _pct(change, cells[1]) if change is not None else None,
                *(_r(v) for v in sub[i]),
            )
        )
    columns = (*_UNIT, Column("soc_baseline", f"SOC {first}", "t C/ha"), Column("stock_baseline", f"Stock {first}", "t C"),
               Column("soc_target", f"SOC {last}", "t C/ha"), Column("stock_target", f"Stock {last}", "t C"),
               Column("stock_change", "Stock change", "t C"), Column("stock_change_pct", "Stock change", "%"), *_SUB)  # fmt: skip
    return Table("SO1-3 SOC", f"SO1-3 Soil organic carbon stock (top 30 cm), {first} and {last}", columns,
                 tuple(rows[:-1]), total=rows[-1], note=f"Input product {product!r}; sub-indicator areas from the job.")  # fmt: skip


def proportion_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """SO1-4 / SDG 15.3.1 from the job's per-unit rows, with the total over all units."""
    keys = [
        "area_km2",
        "water_km2",
        "land_km2",
        "degraded_km2",
        "stable_km2",
        "improved_km2",
        "no_data_km2",
        "degraded_pct",
    ]
    reporting = "reporting_degraded_pct" in rows[0] if rows else False
    if reporting:
        keys += [
            "reporting_degraded_km2",
            "reporting_land_km2",
            "reporting_degraded_pct",
            "change_degraded_pct_points",
        ]
    titles = {"area_km2": ("Total area", "km²"), "water_km2": ("Water", "km²"), "land_km2": ("Land area", "km²"),
              "degraded_km2": ("Degraded", "km²"), "stable_km2": ("Not degraded: stable", "km²"),
              "improved_km2": ("Not degraded: improved", "km²"), "no_data_km2": ("No data", "km²"),
              "degraded_pct": ("Proportion degraded (baseline)", "%"),
              "reporting_degraded_km2": ("Degraded (reporting)", "km²"), "reporting_land_km2": ("Land area (reporting)", "km²"),
              "reporting_degraded_pct": ("Proportion degraded (reporting)", "%"),
              "change_degraded_pct_points": ("Change", "% points")}  # fmt: skip
    body = tuple((r["unit_id"], r["unit_name"], *(r.get(k) for k in keys)) for r in rows)
    sums = {k: round(sum(r.get(k) or 0.0 for r in rows), 6) for k in keys if k.endswith("_km2")}
    sums["degraded_pct"] = _pct(sums["degraded_km2"], sums["land_km2"])
    if reporting:
        sums["reporting_degraded_pct"] = _pct(
            sums["reporting_degraded_km2"], sums["reporting_land_km2"]
        )
        both = (sums["degraded_pct"], sums["reporting_degraded_pct"])
        sums["change_degraded_pct_points"] = None if None in both else round(both[1] - both[0], 4)
    return Table("SO1-4 SDG 15.3.1", "SO1-4 / SDG 15.3.1 Proportion of land that is degraded over total land area",
                 _UNIT + tuple(Column(k, *titles[k]) for k in keys), body,
                 total=("total", "All units", *(sums.get(k) for k in keys)),
                 note="Proportion = degraded ÷ land area (total area without water), as the job computed it.")  # fmt: skip


def so1_tables(
    grid: Grid, document: Mapping[str, Any], inputs: Mapping[str, Any]
) -> tuple[Table, ...]:
    """Every SO1 table of a 15.3.1 job's result document."""
    collections, baseline = document["collections"], document["periods"]["baseline"]
    tables = land_cover_tables(grid, inputs, baseline, collections)
    tables.append(
        lpd_table(grid, collections["lpd"], f"baseline {baseline['time_period']}", "SO1-2 LPD")
    )
    if "reporting_lpd" in collections:
        period = document["periods"]["reporting"]["time_period"]
        tables.append(
            lpd_table(
                grid, collections["reporting_lpd"], f"reporting {period}", "SO1-2 LPD reporting"
            )
        )
    tables.append(soc_table(grid, inputs, baseline, collections))
    tables.append(proportion_table(document["summary"]["rows"]))
    return tuple(tables)
