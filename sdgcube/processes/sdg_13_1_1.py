"""``sdg-13-1-1``: persons directly affected by a hazard per 100 000 population (also 1.5.1, 11.5.1).

The hazard extent is a raster product — a ``burnt-area`` or flood result, a 0/1 mask, a water
product — where any time slice in ``hazard_datetime`` has a value in [hazard_min_value,
hazard_max_value], or a GeoJSON polygon. It is laid on the population grid (nearest neighbour), and
per reporting unit (``sdgcube.indicators.hazard``): persons inside it, total persons, and
affected / total × 100 000 — SDMX series ``VC_DSR_DAFF`` (directly affected persons attributed to
disasters per 100 000 population), unit ``PER_100000_POP``. The raster registered is the persons
affected per pixel.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize
from pydantic import Field, field_validator, model_validator
from shapely.errors import ShapelyError
from shapely.geometry import shape

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, hazard_mask, population_by_unit
from sdgcube.indicators.hazard import affected_per_100k
from sdgcube.processes import indicator as ix
from sdgcube.processes.reads import ReadSpec
from sdgcube.processes.reporting import SummaryTable

__all__ = ["Sdg1311", "Sdg1311Inputs"]


class Sdg1311Inputs(ix.IndicatorInputs):
    # fmt: off
    population_product: str = Field("population", description="Gridded population, persons per pixel")
    population_band: str | None = Field(None, description="Band of population_product; its first band if unset")
    population_year: int = Field(2020, ge=1800, le=2200, description="Year of the population grid")
    hazard_product: str | None = Field(
        None, description="Raster product of the hazard extent, e.g. a burnt-area or flood result (or hazard_geometry)"
    )
    hazard_band: str | None = Field(None, description="Band of hazard_product; its first band if unset")
    hazard_datetime: str | None = Field(None, description="Time slices of hazard_product: a year, date or start/end")
    hazard_min_value: float = Field(
        1.0, description="Hazard where the value is at least this (1: a 0/1 mask, burn severity low and above)"
    )
    hazard_max_value: float | None = Field(None, description="…and at most this; unset: no upper bound")
    hazard_geometry: dict[str, Any] | None = Field(None, description="Hazard extent as a GeoJSON polygon, WGS 84")
    # fmt: on

    @field_validator("hazard_geometry")
    @classmethod
    def _polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            geom = shape(value)
        except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not valid GeoJSON: {exc}") from None
        if geom.is_empty or geom.area == 0:
            raise ValueError("must be a non-empty polygon")
        return value

    @model_validator(mode="after")
    def _one_hazard(self) -> Sdg1311Inputs:
        if (self.hazard_product is None) == (self.hazard_geometry is None):
            raise ValueError("give either hazard_product or hazard_geometry (exactly one)")
        if self.hazard_max_value is not None and self.hazard_max_value < self.hazard_min_value:
            raise ValueError(
                f"hazard_max_value {self.hazard_max_value} is below hazard_min_value {self.hazard_min_value}"
            )
        return self


_Plan = ix.IndicatorPlan[Sdg1311Inputs]


def _hazard(plan: _Plan, cube: Cube, population: xr.DataArray) -> xr.DataArray:
    """bool (y, x) hazard extent on the population grid."""
    inputs, geobox = plan.inputs, population.odc.geobox
    if inputs.hazard_geometry is not None:
        mask = rasterize(Geometry(inputs.hazard_geometry, "EPSG:4326").to_crs(geobox.crs), geobox)
        return population.copy(data=np.asarray(mask.values, dtype=bool)).chunk(
            population.chunksizes
        )
    read = plan.reads["hazard"]
    values = read.load(cube, geobox=geobox)[read.bands["hazard_band"]]
    return hazard_mask(values, min_value=inputs.hazard_min_value, max_value=inputs.hazard_max_value)


def _columns(persons: np.ndarray, hazard_km2: np.ndarray) -> dict[str, np.ndarray]:
    """Columns from persons (unit, [total, inside]) and hazard km² (unit,)."""
    return {"population": persons[:, 0], "affected_persons": persons[:, 1], "hazard_km2": hazard_km2,
            "affected_per_100k": affected_per_100k(persons[:, 1], persons[:, 0])}  # fmt: skip


class Sdg1311(ix.IndicatorProcess):
    process_id = "sdg-13-1-1"
    title = "SDG 13.1.1 persons directly affected by a hazard per 100 000 population"
    description = (
        "Persons living inside a hazard extent (a burnt-area or flood result product, a mask or a polygon) over a "
        "population grid, per 100 000 population, per reporting unit; raster of persons affected per pixel."
    )
    keywords = ("SDG 13.1.1", "SDG 1.5.1", "SDG 11.5.1", "disaster", "exposure", "population")
    Inputs = Sdg1311Inputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "The affected-persons raster and the per-unit table (JSON rows, CSV, SDMX-CSV, Features)"
    )
    example: ClassVar[dict[str, Any]] = {
        "population_year": 2020,
        "hazard_geometry": {
            "type": "Polygon",
            "coordinates": [[[177.95, -17.62], [177.97, -17.62], [177.97, -17.6], [177.95, -17.6], [177.95, -17.62]]],
        },
    }  # fmt: skip

    prefix = "sdg1311"

    def check(self, inputs: Sdg1311Inputs, cube: Cube) -> _Plan:  # type: ignore[override]
        reads = {"population": ReadSpec(inputs.population_product, "population_product",
                                        bands={"population_band": inputs.population_band},
                                        periods={"population_year": [inputs.population_year]})}  # fmt: skip
        if inputs.hazard_product is not None:
            reads["hazard"] = ReadSpec(inputs.hazard_product, "hazard_product", bands={"hazard_band": inputs.hazard_band},
                                       time=inputs.hazard_datetime, time_field="hazard_datetime")  # fmt: skip
        return ix.plan_indicator(inputs, cube, **reads)

    def graph(self, plan: _Plan, cube: Cube) -> ix.Graph:
        inputs, read, n = plan.inputs, plan.reads["population"], plan.n_units
        population = read.load(cube, area=plan.region.load_area())[
            read.bands["population_band"]
        ].isel(time=-1, drop=True)
        hazard = _hazard(plan, cube, population)
        return ix.Graph(
            tables={"persons": population_by_unit(population, plan.units, n_units=n, inside=hazard),
                    "hazard": class_area(hazard.astype("int8"), plan.units, n_units=n, class_values=(1,))},
            rasters={"affected": ix.Layer(population.where(hazard, 0.0),
                                          f"SDG 13.1.1 persons affected per pixel ({inputs.population_year} population)")},
            when=ix.mid_year(_reference_year(plan)), message="laying the hazard over the population",
        )  # fmt: skip

    def report(self, plan: _Plan, outputs: ix.Outputs) -> ix.Report:
        persons, hazard_km2 = outputs.tables["persons"], outputs.tables["hazard"][:, 0]
        table = SummaryTable(
            indicator="13.1.1", series="VC_DSR_DAFF", unit_measure="PER_100000_POP", value_field="affected_per_100k",
            time_period=str(_reference_year(plan)), rows=ix.unit_rows(plan.region, _columns(persons, hazard_km2)),
        )  # fmt: skip
        total = _columns(persons.sum(axis=0, keepdims=True), hazard_km2.sum(keepdims=True))
        return ix.Report(table, {"total": {k: ix.clean(v[0]) for k, v in total.items()}})


def _reference_year(plan: _Plan) -> int:
    """The hazard's last year with data, or the population year for a hazard polygon."""
    hazard = plan.reads.get("hazard")
    return hazard.years[-1] if hazard is not None else plan.reads["population"].years[-1]
