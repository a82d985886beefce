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
from sdgcube.datacube.query import norm_time
from sdgcube.datacube.xr_indicators import class_area, hazard_mask, population_by_unit
from sdgcube.errors import InvalidRequest, NoData
from sdgcube.indicators.hazard import affected_per_100k
from sdgcube.processes._sdg_inputs import (
    IndicatorInputs,
    RegionGrid,
    check_area_has_data,
    check_band,
    check_product,
    check_years,
    clean,
    compute_outputs,
    dataset_years,
    input_datasets,
    lineage,
    mid_year,
    publish_rasters,
    resolve,
    result_outputs,
    unit_rows,
)
from sdgcube.processes.base import CubeProcessor, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.reporting import SummaryTable, publish_summary

__all__ = ["Sdg1311", "Sdg1311Inputs"]


class Sdg1311Inputs(IndicatorInputs):
    population_product: str = Field(
        "population", description="Gridded population, persons per pixel"
    )
    population_band: str | None = Field(
        None, description="Band of population_product; its first band if unset"
    )
    population_year: int = Field(2020, ge=1800, le=2200, description="Year of the population grid")
    hazard_product: str | None = Field(
        None,
        description="Raster product of the hazard extent, e.g. a burnt-area or flood result (or hazard_geometry)",
    )
    hazard_band: str | None = Field(
        None, description="Band of hazard_product; its first band if unset"
    )
    hazard_datetime: str | None = Field(
        None, description="Time slices of hazard_product: a year, date or start/end"
    )
    hazard_min_value: float = Field(
        1.0,
        description="Hazard where the value is at least this (1: a 0/1 mask, burn severity low and above)",
    )
    hazard_max_value: float | None = Field(
        None, description="…and at most this; unset: no upper bound"
    )
    hazard_geometry: dict[str, Any] | None = Field(
        None, description="Hazard extent as a GeoJSON polygon, WGS 84"
    )

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


def _population(inputs: Sdg1311Inputs, cube: Cube, grid: RegionGrid) -> xr.DataArray:
    band = check_band(
        cube, inputs.population_product, inputs.population_band, field="population_band"
    )
    data = cube.load(inputs.population_product, time=str(inputs.population_year), measurements=[band],
                     mask_nodata=True, **grid.region.load_area())  # fmt: skip
    return data[band].isel(time=-1, drop=True)


def _hazard(inputs: Sdg1311Inputs, cube: Cube, population: xr.DataArray) -> xr.DataArray:
    """bool (y, x) hazard extent on the population grid."""
    geobox = population.odc.geobox
    if inputs.hazard_geometry is not None:
        polygon = Geometry(inputs.hazard_geometry, "EPSG:4326").to_crs(geobox.crs)
        mask = rasterize(polygon, geobox)
        return population.copy(data=np.asarray(mask.values, dtype=bool)).chunk(
            population.chunksizes
        )
    assert inputs.hazard_product is not None
    band = check_band(cube, inputs.hazard_product, inputs.hazard_band, field="hazard_band")
    values = cube.load(inputs.hazard_product, time=inputs.hazard_datetime, measurements=[band], mask_nodata=True,
                       geobox=geobox)[band]  # fmt: skip
    return hazard_mask(values, min_value=inputs.hazard_min_value, max_value=inputs.hazard_max_value)


def _reference_year(inputs: Sdg1311Inputs, cube: Cube) -> int:
    if inputs.hazard_product is None:
        return inputs.population_year
    return max(dataset_years(cube.datasets(inputs.hazard_product, inputs.hazard_datetime)))


def _columns(persons: np.ndarray, hazard_km2: np.ndarray) -> dict[str, np.ndarray]:
    """Columns from persons (unit, [total, inside]) and hazard km² (unit,)."""
    return {"population": persons[:, 0], "affected_persons": persons[:, 1], "hazard_km2": hazard_km2,
            "affected_per_100k": affected_per_100k(persons[:, 1], persons[:, 0])}  # fmt: skip


class Sdg1311(CubeProcessor):
    process_id = "sdg-13-1-1"
    title = "SDG 13.1.1 persons directly affected by a hazard per 100 000 population"
    description = (
        "Persons living inside a hazard extent (a burnt-area or flood result product, a mask or a polygon) over a "
        "population grid, per 100 000 population, per reporting unit; raster of persons affected per pixel."
    )
    keywords = ("SDG 13.1.1", "SDG 1.5.1", "SDG 11.5.1", "disaster", "exposure", "population")
    Inputs = Sdg1311Inputs
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "The affected-persons raster and the per-unit table (JSON rows, CSV, SDMX-CSV, Features)"
    )
    example: ClassVar[dict[str, Any]] = {
        "population_year": 2020,
        "hazard_geometry": {
            "type": "Polygon",
            "coordinates": [[[177.95, -17.62], [177.97, -17.62], [177.97, -17.6], [177.95, -17.6], [177.95, -17.62]]],
        },
    }  # fmt: skip

    def check(self, inputs: Sdg1311Inputs, cube: Cube) -> None:  # type: ignore[override]
        check_product(cube, inputs.population_product, field="population_product")
        check_band(cube, inputs.population_product, inputs.population_band, field="population_band")
        check_years(
            cube, inputs.population_product, [inputs.population_year], field="population_year"
        )
        grid = resolve(inputs, cube, inputs.population_product)
        check_area_has_data(
            cube, inputs, grid.region, inputs.population_product, str(inputs.population_year)
        )
        if inputs.hazard_product is not None:
            check_product(cube, inputs.hazard_product, field="hazard_product")
            check_band(cube, inputs.hazard_product, inputs.hazard_band, field="hazard_band")
            try:
                time = norm_time(inputs.hazard_datetime)
            except InvalidRequest as exc:
                raise InvalidRequest(f"input 'hazard_datetime': {exc}") from None
            if not input_datasets(cube, inputs.hazard_product, grid.region, time):
                raise NoData(f"input 'hazard_product': {inputs.hazard_product!r} has no data in the requested "
                             f"area for hazard_datetime {inputs.hazard_datetime!r}")  # fmt: skip

    def run(self, inputs: Sdg1311Inputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube = ctx.cube
        ctx.progress(2, "resolving the area and its units")
        grid = resolve(inputs, cube, inputs.population_product)
        ctx.progress(5, "loading population and the hazard extent")
        population = _population(inputs, cube, grid)
        hazard = _hazard(inputs, cube, population)
        n = grid.n_units
        outputs = compute_outputs(
            ctx,
            tables={"persons": population_by_unit(population, grid.units, n_units=n, inside=hazard),
                    "hazard": class_area(hazard.astype("int8"), grid.units, n_units=n, class_values=(1,))},
            rasters={"affected": population.where(hazard, 0.0)},
            start=10, end=80, message="laying the hazard over the population",
        )  # fmt: skip
        persons, hazard_km2 = outputs.tables["persons"], outputs.tables["hazard"][:, 0]
        year = _reference_year(inputs, cube)
        datasets = {inputs.population_product: input_datasets(cube, inputs.population_product, grid.region,
                                                              str(inputs.population_year))}  # fmt: skip
        if inputs.hazard_product is not None:
            datasets[inputs.hazard_product] = input_datasets(cube, inputs.hazard_product, grid.region,
                                                             norm_time(inputs.hazard_datetime))  # fmt: skip
        ctx.progress(82, "registering the affected-persons raster in the cube")
        published = publish_rasters(
            ctx, grid, outputs, prefix="sdg1311", when=mid_year(year),
            descriptions={
                "affected": f"SDG 13.1.1 persons affected per pixel ({inputs.population_year} population)"
            },
            properties=lineage(self.process_id, inputs, datasets),
        )  # fmt: skip
        ctx.progress(92, "writing the per-unit tables")
        table = SummaryTable(
            indicator="13.1.1", series="VC_DSR_DAFF", unit_measure="PER_100000_POP",
            value_field="affected_per_100k",
            time_period=str(year), rows=unit_rows(grid.region, _columns(persons, hazard_km2)),
        )  # fmt: skip
        summary = publish_summary(ctx, table, grid.region, prefix="sdg1311")
        total = _columns(persons.sum(axis=0, keepdims=True), hazard_km2.sum(keepdims=True))
        return ProcessResult(
            document={"indicator": "13.1.1", "collections": published, "summary": summary,
                      "total": {k: clean(v[0]) for k, v in total.items()}},
            products=tuple(published.values()),
        )  # fmt: skip
