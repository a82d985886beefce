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
from sdgcube.indicators.urban import (  # fmt: skip
    built_up_per_capita,
    land_consumption_rate,
    lcrpgr,
    population_growth_rate,
)
from sdgcube.processes import indicator as ix
from sdgcube.processes.reads import ReadSpec
from sdgcube.processes.reporting import SummaryTable

__all__ = ["Sdg1131", "Sdg1131Inputs"]


class Sdg1131Inputs(ix.IndicatorInputs):
    # fmt: off
    built_up_product: str = Field("built_up", description="Built-up (impervious surface) product")
    built_up_band: str | None = Field(None, description="Band of built_up_product; its first band if unset")
    built_up_classes: list[int] = Field([1], min_length=1, description="Codes of built_up_band that are built-up")
    population_product: str = Field("population", description="Gridded population, persons per pixel")
    population_band: str | None = Field(None, description="Band of population_product; its first band if unset")
    year_1: int = Field(2000, ge=1800, le=2200, description="First year (both products need data in it)")
    year_2: int = Field(2020, ge=1800, le=2200, description="Second year, after year_1")
    # fmt: on

    @model_validator(mode="after")
    def _years_ordered(self) -> Sdg1131Inputs:
        if self.year_2 <= self.year_1:
            raise ValueError(f"year_2 {self.year_2} must come after year_1 {self.year_1}")
        return self


_Plan = ix.IndicatorPlan[Sdg1131Inputs]


def _two_years(plan: _Plan, name: str, cube: Cube) -> tuple[xr.DataArray, xr.DataArray]:
    """(y, x) values of read ``name`` in year_1 and in year_2 (the last slice of each), on one grid."""
    inputs, read = plan.inputs, plan.reads[name]
    band, mask = read.bands[f"{name}_band"], name == "population"
    first = read.load(cube, years=[inputs.year_1], area=plan.region.load_area(), mask_nodata=mask)[band]  # fmt: skip
    second = read.load(cube, years=[inputs.year_2], geobox=first.odc.geobox, mask_nodata=mask)[band]
    return first.isel(time=-1, drop=True), second.isel(time=-1, drop=True)


def _built_up(plan: _Plan, cube: Cube) -> xr.DataArray:
    """int8 (year, y, x): 1 built-up, 0 not, -1 no data."""
    inputs, read = plan.inputs, plan.reads["built_up"]
    nodata = read.catalog[read.bands["built_up_band"]].nodata
    years = []
    for values in _two_years(plan, "built_up", cube):
        built = values.isin(inputs.built_up_classes).astype("int8")
        years.append(
            built.where(values != nodata, -1).astype("int8") if nodata is not None else built
        )
    return xr.concat(
        years, dim=xr.DataArray([inputs.year_1, inputs.year_2], dims="year", name="year")
    )


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


class Sdg1131(ix.IndicatorProcess):
    process_id = "sdg-11-3-1"
    title = "SDG 11.3.1 ratio of land consumption rate to population growth rate"
    description = (
        "LCRPGR = [ln(Urb2/Urb1)/y] / [ln(Pop2/Pop1)/y] between two years from a built-up and a population "
        "product, per reporting unit and for the whole area; raster of the urban expansion between the years."
    )
    keywords = ("SDG 11.3.1", "LCRPGR", "built-up", "population", "urbanisation")
    Inputs = Sdg1131Inputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "The expansion raster, the per-unit table (JSON rows, CSV, SDMX-CSV, Features), the total"
    )
    example: ClassVar[dict[str, Any]] = {"year_1": 2010, "year_2": 2020}
    prefix = "sdg1131"

    def check(self, inputs: Sdg1131Inputs, cube: Cube) -> _Plan:  # type: ignore[override]
        def read(kind: str) -> ReadSpec:
            return ReadSpec(getattr(inputs, f"{kind}_product"), f"{kind}_product",
                            bands={f"{kind}_band": getattr(inputs, f"{kind}_band")},
                            periods={"year_1": [inputs.year_1], "year_2": [inputs.year_2]})  # fmt: skip

        return ix.plan_indicator(
            inputs, cube, built_up=read("built_up"), population=read("population")
        )

    def graph(self, plan: _Plan, cube: Cube) -> ix.Graph:
        inputs, n = plan.inputs, plan.n_units
        built = _built_up(plan, cube)
        pop_1, pop_2 = _two_years(plan, "population", cube)
        first, second = built.isel(year=0, drop=True), built.isel(year=1, drop=True)
        code = (second == 1).astype("float32") * 2 + (first == 1).astype("float32") * 3  # both: 5
        expansion = code.where(code != 5, 1).where((first >= 0) & (second >= 0))
        return ix.Graph(
            tables={"built": class_area(built, plan.units, n_units=n, class_values=(1,)).sum("class"),
                    "pop_1": population_by_unit(pop_1, plan.units, n_units=n).sel(column="total", drop=True),
                    "pop_2": population_by_unit(pop_2, plan.units, n_units=n).sel(column="total", drop=True)},
            rasters={"expansion": ix.Layer(expansion, f"SDG 11.3.1 urban expansion {inputs.year_1}-{inputs.year_2}: "
                                           "0 not built-up, 1 built-up in both years, 2 new built-up, 3 built-up only "
                                           "in the first year")},
            when=ix.mid_year(inputs.year_2), message="summing built-up land and population",
        )  # fmt: skip

    def report(self, plan: _Plan, outputs: ix.Outputs) -> ix.Report:
        inputs, n = plan.inputs, plan.n_units
        span, urban = inputs.year_2 - inputs.year_1, outputs.tables["built"]
        population = np.stack([outputs.tables["pop_1"], outputs.tables["pop_2"]])
        columns = {"year_1": np.full(n, inputs.year_1), "year_2": np.full(n, inputs.year_2),
                   **_columns(urban, population, span)}  # fmt: skip
        table = SummaryTable(
            indicator="11.3.1", series="EN_LND_CNSPOP", unit_measure="RO", value_field="lcrpgr",
            time_period=f"{inputs.year_1}-{inputs.year_2}", rows=ix.unit_rows(plan.region, columns),
        )  # fmt: skip
        totals = _columns(
            urban.sum(axis=1, keepdims=True), population.sum(axis=1, keepdims=True), span
        )
        return ix.Report(table, {"total": {"year_1": inputs.year_1, "year_2": inputs.year_2,
                                           **{k: ix.clean(v[0]) for k, v in totals.items()}}})  # fmt: skip
