"""The ``sdg-15-3-1`` computation's first stage: one lazy Dask graph per assessment (baseline,
reporting period) of the 2-D layers that need only their own pixels — trajectory, state, the mean
NDVI of the performance period and its land units, land-cover degradation, water, SOC change.

Memory: the only 3-D array is the annual NDVI stack, processed one spatial chunk (all years) per task.
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
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_productivity import YEAR
from sdgcube.indicators.land_cover import WATER_BODY
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes._sdg_15_3_1_plan import Sdg1531Plan, latest_year
from sdgcube.processes.reads import Read
from sdgcube.processes.regions import Region

__all__ = ["Slices", "lazy_assessment", "load_ndvi", "reference_grid", "region_mask"]


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
