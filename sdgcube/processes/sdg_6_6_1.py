"""``sdg-6-6-1``: change in the extent of water-related ecosystems (permanent and seasonal water).

Per year, a pixel is permanent water when it is water in every valid observation of the year and
seasonal water when it is water in some but not all (``sdgcube.indicators.water``). Observations
come from a water product (0 dry / 1 water, quarterly ``surface_water`` by default) or from MNDWI of
a reflectance product thresholded per time slice. Per reporting unit: permanent and seasonal km² for
every year from the baseline's first to the reporting period's last, their 5-year (period) means
over the years that have observations, and the change of permanent water
(reporting − baseline) / baseline × 100: SDMX series ``EN_LKRV_PWAC`` (lakes and rivers permanent
water area change, percent).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, mndwi, water_from_index, yearly_water_classes
from sdgcube.indicators.water import NODATA, NOT_WATER, PERMANENT, SEASONAL, percent_change
from sdgcube.processes._sdg_inputs import (
    IndicatorInputs,
    RegionGrid,
    YearPeriod,
    check_area_has_data,
    check_band,
    check_product,
    check_years,
    clean,
    compute_outputs,
    input_datasets,
    lineage,
    mid_year,
    period_years,
    publish_rasters,
    resolve,
    result_outputs,
    scaled,
    unit_rows,
)
from sdgcube.processes.base import CubeProcessor, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.reporting import SummaryTable, publish_summary

__all__ = ["Sdg661", "Sdg661Inputs"]

_CLASSES = (PERMANENT, SEASONAL, NOT_WATER, NODATA)


class Sdg661Inputs(IndicatorInputs):
    source: Literal["water_product", "mndwi"] = Field(
        "water_product",
        description="Water observations from a water product, or from MNDWI of a reflectance product",
    )
    water_product: str = Field(
        "surface_water", description="Sub-annual water observations: 0 dry, 1 water"
    )
    water_band: str | None = Field(
        None, description="Band of water_product; its first band if unset"
    )
    reflectance_product: str = Field(
        "sr_annual", description="Reflectance product for source 'mndwi'"
    )
    green_band: str = Field("green", description="Green band of reflectance_product")
    swir1_band: str = Field(
        "swir16", description="Short-wave infrared (~1.6 µm) band of reflectance_product"
    )
    mndwi_threshold: float = Field(
        0.0, description="Water where MNDWI = (green − SWIR1)/(green + SWIR1) exceeds this"
    )
    mask_clouds: bool = Field(
        True, description="For source 'mndwi': drop pixels flagged cloud or shadow"
    )
    baseline: YearPeriod = Field("2000/2004", description="Baseline period, years start/end")
    reporting: YearPeriod = Field("2020/2024", description="Reporting period, years start/end")

    def product(self) -> str:
        return self.water_product if self.source == "water_product" else self.reflectance_product

    def years(self) -> tuple[int, ...]:
        first, last = period_years(self.baseline)[0], period_years(self.reporting)[-1]
        return tuple(range(min(first, last), max(first, last) + 1))


def _observations(inputs: Sdg661Inputs, cube: Cube, grid: RegionGrid) -> xr.DataArray:
    """uint8 (time, y, x) water codes: 0 dry, 1 water, anything else no observation."""
    years = inputs.years()
    time = (str(years[0]), str(years[-1]))
    area = grid.region.load_area()
    if inputs.source == "water_product":
        band = check_band(cube, inputs.water_product, inputs.water_band, field="water_band")
        return cube.load(inputs.water_product, time=time, measurements=[band], **area)[band]
    green = check_band(cube, inputs.reflectance_product, inputs.green_band, field="green_band")
    swir1 = check_band(cube, inputs.reflectance_product, inputs.swir1_band, field="swir1_band")
    data = cube.load(inputs.reflectance_product, time=time, measurements=[green, swir1], mask_nodata=True,
                     mask_clouds=inputs.mask_clouds, **area)  # fmt: skip
    bands = scaled(data, cube, inputs.reflectance_product, (green, swir1))
    return water_from_index(mndwi(bands[green], bands[swir1]), threshold=inputs.mndwi_threshold)


def _permanent_frequency(classes: xr.DataArray, years: tuple[int, ...]) -> xr.DataArray:
    """Share of the period's observed years in which a pixel was permanent water (NaN: never observed)."""
    period = classes.sel(year=list(years))
    observed = (period != NODATA).sum("year")
    return ((period == PERMANENT).sum("year") / observed).where(observed > 0).astype("float32")


def _period_mean(
    values: np.ndarray, years: tuple[int, ...], period: tuple[int, ...], held: set[int]
) -> np.ndarray:
    """Mean over the period's years that have observations, of (year, unit) values -> (unit,)."""
    rows = [years.index(y) for y in period if y in held]
    return values[rows].mean(axis=0) if rows else np.full(values.shape[1:], np.nan)


def _table(areas: np.ndarray, inputs: Sdg661Inputs, held: set[int]) -> dict[str, np.ndarray]:
    """Columns (one value per unit, or for the total) from km² (year, unit, class)."""
    years, baseline, reporting = (
        inputs.years(),
        period_years(inputs.baseline),
        period_years(inputs.reporting),
    )
    permanent, seasonal = (
        areas[..., _CLASSES.index(PERMANENT)],
        areas[..., _CLASSES.index(SEASONAL)],
    )
    columns = {
        "baseline_permanent_km2": _period_mean(permanent, years, baseline, held),
        "reporting_permanent_km2": _period_mean(permanent, years, reporting, held),
        "baseline_seasonal_km2": _period_mean(seasonal, years, baseline, held),
        "reporting_seasonal_km2": _period_mean(seasonal, years, reporting, held),
    }
    for kind in ("permanent", "seasonal"):
        baseline_km2, reporting_km2 = (
            columns[f"baseline_{kind}_km2"],
            columns[f"reporting_{kind}_km2"],
        )
        columns[f"{kind}_change_pct"] = percent_change(baseline_km2, reporting_km2)
    return columns


def _yearly(
    areas: np.ndarray, years: tuple[int, ...], held: set[int], ids: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for y, year in enumerate(years):
        for u, unit_id in enumerate(ids):
            values = dict(
                zip(
                    ("permanent_km2", "seasonal_km2", "not_water_km2", "nodata_km2"),
                    areas[y, u],
                    strict=True,
                )
            )
            rows.append({"unit_id": unit_id, "year": year,
                         **{k: clean(v) if year in held else None for k, v in values.items()}})  # fmt: skip
    return rows


class Sdg661(CubeProcessor):
    process_id = "sdg-6-6-1"
    title = "SDG 6.6.1 change in the extent of water-related ecosystems"
    description = (
        "Permanent and seasonal surface water per year from sub-annual observations (a water product or MNDWI), "
        "5-year mean extents and the percentage change of permanent water from the baseline to the reporting "
        "period, per reporting unit; rasters of the latest water classes and of the permanent-water change."
    )
    keywords = ("SDG 6.6.1", "surface water", "permanent water", "seasonal water", "MNDWI")
    Inputs = Sdg661Inputs
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "Registered rasters, the per-unit table (JSON rows, CSV, SDMX-CSV, Features) and yearly areas"
    )
    example: ClassVar[dict[str, Any]] = {
        "baseline": "2000/2004",
        "reporting": "2020/2024",
        "unit_ids": ["D1"],
    }

    def check(self, inputs: Sdg661Inputs, cube: Cube) -> None:  # type: ignore[override]
        field = "water_product" if inputs.source == "water_product" else "reflectance_product"
        product = inputs.product()
        check_product(cube, product, field=field)
        if inputs.source == "water_product":
            check_band(cube, product, inputs.water_band, field="water_band")
        else:
            check_band(cube, product, inputs.green_band, field="green_band")
            check_band(cube, product, inputs.swir1_band, field="swir1_band")
        check_years(cube, product, period_years(inputs.baseline), field="baseline")
        check_years(cube, product, period_years(inputs.reporting), field="reporting")
        grid = resolve(inputs, cube, product)
        years = inputs.years()
        check_area_has_data(cube, inputs, grid.region, product, (str(years[0]), str(years[-1])))

    def run(self, inputs: Sdg661Inputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube, product, years = ctx.cube, inputs.product(), inputs.years()
        baseline, reporting = period_years(inputs.baseline), period_years(inputs.reporting)
        ctx.progress(2, "resolving the area and its units")
        grid = resolve(inputs, cube, product)
        ctx.progress(5, "loading water observations")
        observations = _observations(inputs, cube, grid)
        held = {int(y) for y in np.unique(observations.time.dt.year.values)}
        classes = yearly_water_classes(observations, years)
        latest = classes.sel(year=years[-1], drop=True)
        outputs = compute_outputs(
            ctx, tables={"area": class_area(classes, grid.units, n_units=grid.n_units, class_values=_CLASSES)},
            rasters={"classes": latest.where(latest != NODATA),
                     "change": _permanent_frequency(classes, reporting) - _permanent_frequency(classes, baseline)},
            start=10, end=80, message="classifying water per year",
        )  # fmt: skip
        areas = outputs.tables["area"]
        datasets = {
            product: input_datasets(cube, product, grid.region, (str(years[0]), str(years[-1])))
        }
        ctx.progress(82, "registering the rasters in the cube")
        published = publish_rasters(
            ctx, grid, outputs, prefix="sdg661", when=mid_year(years[-1]),
            descriptions={
                "classes": f"SDG 6.6.1 water class in {years[-1]}: 0 not water, 1 seasonal, 2 permanent",
                "change": f"SDG 6.6.1 share of years with permanent water, {inputs.reporting} minus "
                f"{inputs.baseline} (-1 lost ... +1 gained)",
            },
            properties=lineage(self.process_id, inputs, datasets),
        )  # fmt: skip
        ctx.progress(92, "writing the per-unit tables")
        table = SummaryTable(
            indicator="6.6.1", series="EN_LKRV_PWAC", unit_measure="PT", value_field="permanent_change_pct",
            time_period=inputs.reporting.replace("/", "-"),
            rows=unit_rows(grid.region, _table(areas, inputs, held)),
        )  # fmt: skip
        summary = publish_summary(ctx, table, grid.region, prefix="sdg661")
        total = {
            k: clean(v[0])
            for k, v in _table(areas.sum(axis=1, keepdims=True), inputs, held).items()
        }
        return ProcessResult(
            document={
                "indicator": "6.6.1", "collections": published, "summary": summary, "total": total,
                "yearly": _yearly(areas, years, held, [u.id for u in grid.region.units]),
                "years_without_observations": [y for y in years if y not in held],
            },
            products=tuple(published.values()),
        )  # fmt: skip
