"""The ``sdg-15-3-1`` computation: one lazy Dask graph per assessment (baseline, reporting period),
computed together, then the steps that need the whole area (performance's per-land-unit percentile,
the LPD table, one-out-all-out) on the 2-D results, and the per-unit area table.

Memory: the only 3-D array is the annual NDVI stack, processed one spatial chunk (all years) per task;
everything that reaches this process is 2-D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize
from shapely.geometry import mapping

from sdgcube.datacube import xr_productivity as xp
from sdgcube.datacube.areas import pixel_area_km2
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
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes._sdg_15_3_1_plan import Sdg1531Plan, latest_year
from sdgcube.processes.reads import Read
from sdgcube.processes.regions import Region, unit_index_raster
from sdgcube.processes.reporting import SummaryTable

__all__ = [
    "Assessment", "Slices", "assess", "lazy_assessment", "load_ndvi", "reference_grid", "region_mask", "status",
    "summary_rows", "summary_table",
]  # fmt: skip

_WATER, _NO_DATA = 2, 3
"""Codes of the summary raster besides −1/0/1."""


def _first_band(read: Read, data: xr.Dataset) -> xr.DataArray:
    return data[next(iter(read.bands.values()))]


def load_ndvi(cube: Cube, read: Read, area: Mapping[str, Any]) -> xr.DataArray:
    """Annual NDVI (year, y, x) float32 from an NDVI band or from red and NIR, in physical units;
    NaN = nodata (and values outside −1…1)."""
    bands = read.physical(read.load(cube, area=area))
    if "ndvi_band" in bands:
        ndvi = bands["ndvi_band"]
    else:
        ndvi = (bands["nir_band"] - bands["red_band"]) / (bands["nir_band"] + bands["red_band"])
    return xp.annual_mean(ndvi.where((ndvi >= -1) & (ndvi <= 1)).rename("ndvi"))


def reference_grid(cube: Cube, plan: Sdg1531Plan) -> tuple[xr.DataArray | None, GeoBox]:
    """Annual NDVI over every year any assessment needs (None with an LPD product) and the grid of
    the results: the NDVI product's, or the LPD product's."""
    area = plan.region.load_area()
    if "lpd" in plan.reads:
        read = plan.reads["lpd"]
        return None, read.load(cube, years=read.years[:1], area=area).odc.geobox
    ndvi = load_ndvi(cube, plan.reads["ndvi"], area)
    return ndvi, ndvi.odc.geobox


def region_mask(region: Region, geobox: GeoBox) -> np.ndarray:
    """True on the pixels whose centre lies in the region (the grid covers its bounding box)."""
    assert geobox.crs is not None  # the grid of a loaded product
    return np.asarray(
        rasterize(Geometry(mapping(region.geometry), "EPSG:4326").to_crs(geobox.crs), geobox).values
    )


def _mean(values: xr.DataArray) -> xr.DataArray:
    count = values.count(YEAR)
    return (values.sum(YEAR, skipna=True) / count.where(count > 0)).astype(np.float32)


@dataclass
class Slices:
    """One year of a read on the output grid (its first band, its last time slice that year, NaN =
    nodata), loaded lazily once per (read, year)."""

    cube: Cube
    reads: Mapping[str, Read]
    geobox: GeoBox
    _loaded: dict[tuple[str, int], xr.DataArray] = field(default_factory=dict)

    def year(self, name: str, year: int) -> xr.DataArray:
        if (name, year) not in self._loaded:
            read = self.reads[name]
            data = read.load(self.cube, years=[year], geobox=self.geobox)
            self._loaded[name, year] = (
                _first_band(read, data).isel(time=-1, drop=True).astype(np.float32)
            )
        return self._loaded[name, year]

    def latest(self, name: str, year: int) -> xr.DataArray:
        """The latest year up to ``year`` (the read's first year if it starts later)."""
        return self.year(name, latest_year(self.reads[name].years, year))


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
        layers["unit_land_cover"] = slices.latest("land_cover", periods.performance[0])
        if "ecological_units" in slices.reads:
            layers["unit_ecological"] = slices.latest("ecological_units", periods.performance[0])
    else:
        layers["lpd"] = slices.latest("lpd", periods.trajectory[1])
    lc_baseline = slices.year("land_cover", periods.land_cover[0])
    lc_target = slices.year("land_cover", periods.land_cover[1])
    layers["land_cover"] = xp.land_cover_degradation(lc_baseline, lc_target, matrix=inputs.matrix())
    # Water is the baseline land cover's water only (Trends.Earth's land_deg.py): land that turns
    # into water keeps its class in the tables. As uint8, so that it is not the same Dask key as the
    # SOC water mask below (an output that is also another output's input is dropped from the graph,
    # pydata/xarray#11329).
    layers["water"] = (lc_baseline == WATER_BODY).astype(np.uint8)
    initial_water = slices.latest("land_cover", periods.soc[0]) == WATER_BODY
    layers["soc_change"] = xp.soc_percent_change(slices.year("soc", periods.soc[0]),
                                                 slices.year("soc", periods.soc[1]), initial_water)  # fmt: skip
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


def summary_table(region: Region, geobox: GeoBox, results: list[Assessment]) -> SummaryTable:
    """The per-unit table: the baseline, and the reporting period's status if there is one."""
    units = unit_index_raster(region, geobox)
    area = pixel_area_km2(geobox)
    names = [(u.id, u.name) for u in region.units]
    if len(results) == 2:
        rows = summary_rows(names, units, area, results[0], status(*results), results[1].water)
        field, period = "reporting_degraded_pct", results[1].periods.time_period
    else:
        rows = summary_rows(names, units, area, results[0])
        field, period = "degraded_pct", results[0].periods.time_period
    return SummaryTable(indicator="15.3.1", series="AG_LND_DGRD", unit_measure="PT", value_field=field,
                        time_period=period, rows=rows)  # fmt: skip
