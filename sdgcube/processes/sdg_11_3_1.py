"""``sdg-11-3-1``: ratio of land consumption rate to population growth rate (LCRPGR).

Built-up km² (pixels whose built-up code is one of ``built_up_classes``, areas on the ellipsoid) and
population (sum of persons per pixel) per reporting unit at two years, each product on its own
native grid; then, with y = year_2 − year_1 (``sdgcube.indicators.urban``):

    LCRPGR = [ln(Urb₂/Urb₁)/y] / [ln(Pop₂/Pop₁)/y]

per unit and for the whole area (the sums over all units), SDMX series ``EN_LND_CNSPOP`` (ratio
``RO``). Also reported: both rates and the built-up area per person (m²). The raster registered is the
urban expansion: 0 not built-up, 1 built-up in both years, 2 built-up by year_2 only (new),
3 built-up in year_1 only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr
from pydantic import Field, model_validator

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, population_by_unit
from sdgcube.indicators.urban import (
    built_up_per_capita,
    land_consumption_rate,
    lcrpgr,
    population_growth_rate,
)  # fmt: skip
from sdgcube.processes._sdg_inputs import (
    IndicatorInputs,
    RegionGrid,
    check_area_has_data,
    check_band,
    check_product,
    check_years,
    clean,
    compute_outputs,
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

__all__ = ["Sdg1131", "Sdg1131Inputs"]


class Sdg1131Inputs(IndicatorInputs):
    built_up_product: str = Field("built_up", description="Built-up (impervious surface) product")
    built_up_band: str | None = Field(
        None, description="Band of built_up_product; its first band if unset"
    )
    built_up_classes: list[int] = Field(
        [1], min_length=1, description="Codes of built_up_band that are built-up"
    )
    population_product: str = Field(
        "population", description="Gridded population, persons per pixel"
    )
    population_band: str | None = Field(
        None, description="Band of population_product; its first band if unset"
    )
    year_1: int = Field(
        2000, ge=1800, le=2200, description="First year (both products need data in it)"
    )
    year_2: int = Field(2020, ge=1800, le=2200, description="Second year, after year_1")

    @model_validator(mode="after")
    def _years_ordered(self) -> Sdg1131Inputs:
        if self.year_2 <= self.year_1:
            raise ValueError(f"year_2 {self.year_2} must come after year_1 {self.year_1}")
        return self


def _built_up(inputs: Sdg1131Inputs, cube: Cube, grid: RegionGrid) -> xr.DataArray:
    """int8 (year, y, x): 1 built-up, 0 not, -1 no data."""
    product = inputs.built_up_product
    band = check_band(cube, product, inputs.built_up_band, field="built_up_band")
    nodata = cube.product(product).measurements[band].get("nodata")
    first = cube.load(
        product, time=str(inputs.year_1), measurements=[band], **grid.region.load_area()
    )[band]
    second = cube.load(
        product, time=str(inputs.year_2), measurements=[band], geobox=first.odc.geobox
    )[band]
    years = []
    for values in (first.isel(time=-1, drop=True), second.isel(time=-1, drop=True)):
        built = values.isin(inputs.built_up_classes).astype("int8")
        years.append(
            built.where(values != nodata, -1).astype("int8") if nodata is not None else built
        )
    return xr.concat(
        years, dim=xr.DataArray([inputs.year_1, inputs.year_2], dims="year", name="year")
    )


def _population(
    inputs: Sdg1131Inputs, cube: Cube, grid: RegionGrid
) -> tuple[xr.DataArray, xr.DataArray]:
    product = inputs.population_product
    band = check_band(cube, product, inputs.population_band, field="population_band")
    first = cube.load(product, time=str(inputs.year_1), measurements=[band], mask_nodata=True,
                      **grid.region.load_area())[band].isel(time=-1, drop=True)  # fmt: skip
    second = cube.load(product, time=str(inputs.year_2), measurements=[band], mask_nodata=True,
                       geobox=first.odc.geobox)[band].isel(time=-1, drop=True)  # fmt: skip
    return first, second


def _columns(urban: np.ndarray, population: np.ndarray, years: int) -> dict[str, np.ndarray]:
    """Columns from built-up km² and persons, each (2, n)."""
    return {
        "built_up_km2_1": urban[0], "built_up_km2_2": urban[1],
        "population_1": population[0], "population_2": population[1],
        "land_consumption_rate": land_consumption_rate(urban[0], urban[1], years),
        "population_growth_rate": population_growth_rate(population[0], population[1], years),
        "lcrpgr": lcrpgr(urban[0], urban[1], population[0], population[1], years=years),
        "built_up_per_capita_m2_1": built_up_per_capita(urban[0], population[0]),
        "built_up_per_capita_m2_2": built_up_per_capita(urban[1], population[1]),
    }  # fmt: skip


class Sdg1131(CubeProcessor):
    process_id = "sdg-11-3-1"
    title = "SDG 11.3.1 ratio of land consumption rate to population growth rate"
    description = (
        "LCRPGR = [ln(Urb2/Urb1)/y] / [ln(Pop2/Pop1)/y] between two years from a built-up and a population "
        "product, per reporting unit and for the whole area; raster of the urban expansion between the years."
    )
    keywords = ("SDG 11.3.1", "LCRPGR", "built-up", "population", "urbanisation")
    Inputs = Sdg1131Inputs
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "The expansion raster, the per-unit table (JSON rows, CSV, SDMX-CSV, Features), the total"
    )
    example: ClassVar[dict[str, Any]] = {"year_1": 2010, "year_2": 2020}

    def check(self, inputs: Sdg1131Inputs, cube: Cube) -> None:  # type: ignore[override]
        years = (inputs.year_1, inputs.year_2)
        for kind in ("built_up", "population"):
            product = getattr(inputs, f"{kind}_product")
            check_product(cube, product, field=f"{kind}_product")
            check_band(cube, product, getattr(inputs, f"{kind}_band"), field=f"{kind}_band")
            for field, year in zip(("year_1", "year_2"), years, strict=True):
                check_years(cube, product, [year], field=field)
        grid = resolve(inputs, cube, inputs.built_up_product)
        check_area_has_data(
            cube, inputs, grid.region, inputs.built_up_product, (str(years[0]), str(years[1]))
        )
        check_area_has_data(
            cube, inputs, grid.region, inputs.population_product, (str(years[0]), str(years[1]))
        )

    def run(self, inputs: Sdg1131Inputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube, span = ctx.cube, inputs.year_2 - inputs.year_1
        ctx.progress(2, "resolving the area and its units")
        grid = resolve(inputs, cube, inputs.built_up_product)
        ctx.progress(5, "loading built-up land and population")
        built = _built_up(inputs, cube, grid)
        pop_1, pop_2 = _population(inputs, cube, grid)
        first, second = built.isel(year=0, drop=True), built.isel(year=1, drop=True)
        code = (second == 1).astype("float32") * 2 + (first == 1).astype("float32") * 3  # both: 5
        expansion = code.where(code != 5, 1).where((first >= 0) & (second >= 0))
        n = grid.n_units
        outputs = compute_outputs(
            ctx,
            tables={"built": class_area(built, grid.units, n_units=n, class_values=(1,)).sum("class"),
                    "pop_1": population_by_unit(pop_1, grid.units, n_units=n).sel(column="total", drop=True),
                    "pop_2": population_by_unit(pop_2, grid.units, n_units=n).sel(column="total", drop=True)},
            rasters={"expansion": expansion}, start=10, end=80, message="summing built-up land and population",
        )  # fmt: skip
        urban, years = outputs.tables["built"], (inputs.year_1, inputs.year_2)
        population = np.stack([outputs.tables["pop_1"], outputs.tables["pop_2"]])
        datasets = {
            product: [
                ds for year in years for ds in input_datasets(cube, product, grid.region, str(year))
            ]
            for product in (inputs.built_up_product, inputs.population_product)
        }
        ctx.progress(82, "registering the expansion raster in the cube")
        published = publish_rasters(
            ctx, grid, outputs, prefix="sdg1131", when=mid_year(inputs.year_2),
            descriptions={"expansion": f"SDG 11.3.1 urban expansion {inputs.year_1}-{inputs.year_2}: 0 not "
                          "built-up, 1 built-up in both years, 2 new built-up, 3 built-up only in the first year"},
            properties=lineage(self.process_id, inputs, datasets),
        )  # fmt: skip
        ctx.progress(92, "writing the per-unit tables")
        columns = {"year_1": np.full(n, inputs.year_1), "year_2": np.full(n, inputs.year_2),
                   **_columns(urban, population, span)}  # fmt: skip
        table = SummaryTable(
            indicator="11.3.1", series="EN_LND_CNSPOP", unit_measure="RO", value_field="lcrpgr",
            time_period=f"{inputs.year_1}-{inputs.year_2}", rows=unit_rows(grid.region, columns),
        )  # fmt: skip
        summary = publish_summary(ctx, table, grid.region, prefix="sdg1131")
        totals = _columns(
            urban.sum(axis=1, keepdims=True), population.sum(axis=1, keepdims=True), span
        )
        return ProcessResult(
            document={
                "indicator": "11.3.1", "collections": published, "summary": summary,
                "total": {"year_1": inputs.year_1, "year_2": inputs.year_2,
                          **{k: clean(v[0]) for k, v in totals.items()}},
            },
            products=tuple(published.values()),
        )  # fmt: skip
