"""The ``sdg-15-3-1`` computation: one lazy Dask graph per assessment (baseline, reporting period),
computed together, then the steps that need the whole area (performance's per-land-unit percentile,
the LPD table, one-out-all-out) on the 2-D results, and the per-unit area table.

Memory: the only 3-D array is the annual NDVI stack, processed one spatial chunk (all years) per task;
everything that reaches this process is 2-D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sdgcube.datacube import xr_productivity as xp
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_productivity import YEAR
from sdgcube.indicators.degradation import CLASS_NODATA, one_out_all_out, reporting_status
from sdgcube.indicators.land_cover import WATER_BODY
from sdgcube.indicators.productivity import (
    land_units,
    lpd_class,
    lpd_degradation,
    performance_class,
    performance_ratio,
)
from sdgcube.indicators.soc import soc_degradation
from sdgcube.indicators.zonal import class_area_by_unit
from sdgcube.processes._sdg_15_3_1_inputs import NdviSource, Periods, Sdg1531Inputs

__all__ = [
    "CHUNKS", "Assessment", "Slices", "assess", "dataset_years", "lazy_assessment", "load_ndvi", "nearest_year", "status",
    "summary_rows",
]  # fmt: skip

CHUNKS = {"time": 1, "y": 512, "x": 512}
_WATER, _NO_DATA = 2, 3
"""Codes of the summary raster besides −1/0/1."""


def dataset_years(cube: Cube, product: str) -> set[int]:
    """The years in which ``product`` has datasets."""
    return {ds.center_time.year for ds in cube.datasets(product) if ds.center_time is not None}


def nearest_year(cube: Cube, product: str, year: int) -> int | None:
    """The latest year ≤ ``year`` in which ``product`` has a dataset (None if there is none)."""
    years = [y for y in dataset_years(cube, product) if y <= year]
    return max(years) if years else None


def load_slice(cube: Cube, product: str, year: int, geobox: GeoBox) -> xr.DataArray:
    """The product's first band in ``year`` (its last time slice there) on ``geobox``, nodata as NaN."""
    band = cube.bands(product).first.name
    data = cube.load(
        product, time=str(year), geobox=geobox, measurements=[band], chunks=CHUNKS, mask_nodata=True
    )
    return data[band].isel(time=-1, drop=True).astype(np.float32)


def load_ndvi(
    cube: Cube, source: NdviSource, years: tuple[int, int], area: dict[str, Any]
) -> xr.DataArray:
    """Annual NDVI (year, y, x) float32 in physical units; NaN = nodata (and values outside −1…1)."""
    data = cube.load(source.product, time=(str(years[0]), str(years[1])),
                     measurements=[band.name for band in source.bands], chunks=CHUNKS, mask_nodata=True,
                     mask_clouds=source.mask_clouds, **area)  # fmt: skip
    ndvi = source.ndvi(data)
    return xp.annual_mean(ndvi.where((ndvi >= -1) & (ndvi <= 1)).rename("ndvi"))


def _mean(values: xr.DataArray) -> xr.DataArray:
    count = values.count(YEAR)
    return (values.sum(YEAR, skipna=True) / count.where(count > 0)).astype(np.float32)


@dataclass
class Slices:
    """One year of a product on the output grid, loaded lazily once per (product, year)."""

    cube: Cube
    geobox: GeoBox
    _loaded: dict[tuple[str, int], xr.DataArray] = field(default_factory=dict)

    def year(self, product: str, year: int) -> xr.DataArray:
        if (product, year) not in self._loaded:
            self._loaded[product, year] = load_slice(self.cube, product, year, self.geobox)
        return self._loaded[product, year]

    @property
    def loaded(self) -> list[tuple[str, int]]:
        """(product, year) of every slice loaded so far."""
        return list(self._loaded)

    def latest(self, product: str, year: int) -> xr.DataArray:
        """The latest year up to ``year`` (the product's first year if it starts later)."""
        return self.year(
            product,
            nearest_year(self.cube, product, year) or min(dataset_years(self.cube, product)),
        )


def lazy_assessment(
    inputs: Sdg1531Inputs, periods: Periods, slices: Slices, ndvi: xr.DataArray | None
) -> xr.Dataset:
    """The Dask graph of one assessment: productivity inputs, land-cover degradation, SOC change."""
    layers: dict[str, xr.DataArray] = {}

    def years(span: tuple[int, int]) -> xr.DataArray:
        assert ndvi is not None
        return ndvi.sel({YEAR: slice(*span)})

    if ndvi is not None:
        trajectory = xp.trajectory(years(periods.trajectory), params=inputs.trajectory_params())
        layers["trajectory"] = trajectory.trend
        layers["state"] = xp.productivity_state(years(periods.state_baseline), years(periods.state_recent),
                                                params=inputs.state_params())  # fmt: skip
        layers["performance_mean"] = _mean(years(periods.performance))
        # Land units from the land cover at the start of the performance period, as Trends.Earth does.
        layers["unit_land_cover"] = slices.latest(inputs.land_cover_product, periods.performance[0])
        if inputs.ecological_units_product:
            layers["unit_ecological"] = slices.latest(
                inputs.ecological_units_product, periods.performance[0]
            )
    else:
        assert inputs.lpd_product is not None
        layers["lpd"] = slices.latest(inputs.lpd_product, periods.trajectory[1])
    lc_baseline = slices.year(inputs.land_cover_product, periods.land_cover[0])
    lc_target = slices.year(inputs.land_cover_product, periods.land_cover[1])
    layers["land_cover"] = xp.land_cover_degradation(lc_baseline, lc_target, matrix=inputs.matrix())
    # Water is the baseline land cover's water only (Trends.Earth's land_deg.py): land that turns
    # into water keeps its class in the tables. As uint8, so that it is not the same Dask key as the
    # SOC water mask below (an output that is also another output's input is dropped from the graph,
    # pydata/xarray#11329).
    layers["water"] = (lc_baseline == WATER_BODY).astype(np.uint8)
    initial_water = slices.latest(inputs.land_cover_product, periods.soc[0]) == WATER_BODY
    layers["soc_change"] = xp.soc_percent_change(slices.year(inputs.soc_product, periods.soc[0]),
                                                 slices.year(inputs.soc_product, periods.soc[1]), initial_water)  # fmt: skip
    return xr.Dataset({f"{periods.label}_{name}": layer for name, layer in layers.items()})


@dataclass(frozen=True)
class Assessment:
    """The 2-D rasters of one assessment (int8 classes, CLASS_NODATA = nodata) and its water mask
    (water in the assessment's baseline land cover)."""

    periods: Periods
    layers: dict[str, np.ndarray]
    """Part name → raster: trajectory, state, performance (when computed), lpd, land_cover, soc, sdg."""
    water: np.ndarray


def assess(
    computed: xr.Dataset, inputs: Sdg1531Inputs, periods: Periods, inside: np.ndarray
) -> Assessment:
    """Finish one assessment from its computed layers; ``inside`` marks the pixels of the region."""

    def get(name: str) -> np.ndarray:
        return np.asarray(computed[f"{periods.label}_{name}"].values)

    layers: dict[str, np.ndarray] = {}
    if f"{periods.label}_trajectory" in computed:
        eco = get("unit_ecological") if f"{periods.label}_unit_ecological" in computed else None
        units = np.where(inside, land_units(get("unit_land_cover"), eco), -1)
        params = inputs.performance_params()
        ratio = performance_ratio(get("performance_mean"), units, percentile=params.percentile)
        layers["trajectory"] = get("trajectory")
        layers["state"] = get("state")
        layers["performance"] = performance_class(ratio, threshold=params.threshold)
        layers["lpd"] = lpd_class(layers["trajectory"], layers["state"], layers["performance"])
    else:
        lpd = get("lpd")
        layers["lpd"] = np.where(np.isin(lpd, (1, 2, 3, 4, 5)), lpd, CLASS_NODATA).astype(np.int8)
    layers["land_cover"] = get("land_cover")
    layers["soc"] = soc_degradation(get("soc_change"), params=inputs.soc_params())
    layers["sdg"] = one_out_all_out(
        lpd_degradation(layers["lpd"]), layers["land_cover"], layers["soc"]
    )
    return Assessment(periods, layers, get("water").astype(bool))


def status(baseline: Assessment, reporting: Assessment) -> np.ndarray:
    """The reporting period's status against the baseline (int8)."""
    return reporting_status(baseline.layers["sdg"], reporting.layers["sdg"])


def _areas(
    sdg: np.ndarray, water: np.ndarray, units: np.ndarray, area_km2: np.ndarray, n_units: int
) -> np.ndarray:
    summary = np.where(water, _WATER, np.where(sdg == CLASS_NODATA, _NO_DATA, sdg)).astype(np.int8)
    return class_area_by_unit(
        summary, units, area_km2, n_units=n_units, class_values=(-1, 0, 1, _WATER, _NO_DATA)
    )


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
    unit_names: list[tuple[str, str]],
    units: np.ndarray,
    area_km2: np.ndarray,
    baseline: Assessment,
    status_classes: np.ndarray | None = None,
    status_water: np.ndarray | None = None,
) -> tuple[dict[str, Any], ...]:
    """One row per unit: km² degraded/stable/improved/no data/water and the proportion degraded, for the
    baseline and, if given, the reporting period's status (``status_water``: the reporting period's
    baseline water) and the change in percentage points.

    The three proportions differ in their denominator: ``degraded_pct`` divides by ``land_km2``
    (degraded + stable + improved + no data: the unit without its baseline water), the SDG 15.3.1
    value; ``degraded_pct_excluding_no_data`` by degraded + stable + improved;
    ``degraded_pct_of_area`` by ``area_km2`` (land and water), as Trends.Earth's summary table does."""
    n = len(unit_names)
    base = _areas(baseline.layers["sdg"], baseline.water, units, area_km2, n)
    rows = []
    for i, (unit_id, name) in enumerate(unit_names):
        row: dict[str, Any] = {
            "unit_id": unit_id,
            "unit_name": name,
            "area_km2": round(float(base[i].sum()), 6),
        }
        row.update(_columns(base[i], ""))
        rows.append(row)
    if status_classes is not None and status_water is not None:
        status_areas = _areas(status_classes, status_water, units, area_km2, n)
        for i, row in enumerate(rows):
            row.update(_columns(status_areas[i], "reporting_"))
            before, after = row["degraded_pct"], row["reporting_degraded_pct"]
            row["change_degraded_pct_points"] = (
                None if None in (before, after) else round(after - before, 4)
            )
    return tuple(rows)
