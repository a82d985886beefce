"""``sdg-6-6-1``: change in the extent of water-related ecosystems (permanent and seasonal water).

Per year, a pixel is permanent water when it is water in every valid observation of the year and
seasonal water when it is water in some but not all (``sdgcube.indicators.water``). Observations
come from a water product (0 dry / 1 water, quarterly ``surface_water`` by default) or from MNDWI of
a reflectance product thresholded per time slice. Per reporting unit: permanent and seasonal km² for
every year from the baseline's first to the reporting period's last, their period means over the
years that have observations (a period needs one at least; the result lists them), and the change
of permanent water (reporting − baseline) / baseline × 100: SDMX series ``EN_LKRV_PWAC`` (lakes and
rivers permanent water area change, percent).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, mndwi, water_from_index, yearly_water_classes
from sdgcube.indicators.water import NODATA, NOT_WATER, PERMANENT, SEASONAL, percent_change
from sdgcube.processes import indicator as ix  # fmt: skip
from sdgcube.processes.periods import Period, YearPeriod, period_input
from sdgcube.processes.reads import ReadSpec, mask_clouds_input
from sdgcube.processes.reporting import SummaryTable

__all__ = ["Sdg661", "Sdg661Inputs"]

_CLASSES = (PERMANENT, SEASONAL, NOT_WATER, NODATA)
_KINDS = ("permanent", "seasonal")


class Sdg661Inputs(ix.IndicatorInputs):
    # fmt: off
    source: Literal["water_product", "mndwi"] = Field(
        "water_product", description="Water observations from a water product, or from MNDWI of a reflectance product"
    )
    water_product: str = Field("surface_water", description="Sub-annual water observations: 0 dry, 1 water")
    water_band: str | None = Field(None, description="Band of water_product; its first band if unset")
    reflectance_product: str = Field("sr_annual", description="Reflectance product for source 'mndwi'")
    green_band: str = Field("green", description="Green band of reflectance_product")
    swir1_band: str = Field("swir16", description="Short-wave infrared (~1.6 µm) band of reflectance_product")
    mndwi_threshold: float = Field(0.0, description="Water where MNDWI = (green − SWIR1)/(green + SWIR1) exceeds this")
    mask_clouds: bool | None = mask_clouds_input()
    baseline: YearPeriod = period_input("2000/2004", "Baseline period: a year or years start/end")
    reporting: YearPeriod = period_input("2020/2024", "Reporting period: a year or years start/end")
    # fmt: on

    def years(self) -> tuple[int, ...]:
        return Period.spanning([self.baseline, self.reporting]).years


_Plan = ix.IndicatorPlan[Sdg661Inputs]


def _read(inputs: Sdg661Inputs) -> ReadSpec:
    periods = {"baseline": inputs.baseline, "reporting": inputs.reporting}
    if inputs.source == "water_product":
        return ReadSpec(inputs.water_product, "water_product", bands={"water_band": inputs.water_band},
                        periods=periods, years=inputs.years(), mask_clouds=inputs.mask_clouds)  # fmt: skip
    return ReadSpec(inputs.reflectance_product, "reflectance_product", periods=periods, years=inputs.years(),
                    bands={"green_band": inputs.green_band, "swir1_band": inputs.swir1_band},
                    mask_clouds=inputs.mask_clouds)  # fmt: skip


def _observations(plan: _Plan, cube: Cube) -> xr.DataArray:
    """uint8 (time, y, x) water codes: 0 dry, 1 water, anything else no observation."""
    inputs, read = plan.inputs, plan.reads["water"]
    if inputs.source == "water_product":
        data = read.load(cube, area=plan.region.load_area(), mask_nodata=False)
        return data[read.bands["water_band"]]
    bands = read.physical(read.load(cube, area=plan.region.load_area()))
    return water_from_index(mndwi(bands["green_band"], bands["swir1_band"]), threshold=inputs.mndwi_threshold)  # fmt: skip


def _permanent_frequency(classes: xr.DataArray, period: Period) -> xr.DataArray:
    """Share of the period's observed years in which a pixel was permanent water (NaN: never observed)."""
    years = [y for y in period.years if y in classes.year.values]
    observed = (classes.sel(year=years) != NODATA).sum("year")
    permanent = (classes.sel(year=years) == PERMANENT).sum("year")
    return (permanent / observed).where(observed > 0).astype("float32")


def _table(
    areas: np.ndarray, years: tuple[int, ...], used: dict[str, list[int]]
) -> dict[str, np.ndarray]:
    """Columns (one value per unit, or for the total) from km² (year, unit, class): period means over
    the years used, and the change of each kind of water."""
    columns = {
        f"{period}_{kind}_km2": areas[
            [years.index(y) for y in used[period]], ..., _CLASSES.index(code)
        ].mean(0)
        for kind, code in zip(_KINDS, (PERMANENT, SEASONAL), strict=True)
        for period in used
    }
    for kind in _KINDS:
        columns[f"{kind}_change_pct"] = percent_change(
            columns[f"baseline_{kind}_km2"], columns[f"reporting_{kind}_km2"]
        )
    return columns  # fmt: skip


def _yearly(areas: np.ndarray, years: tuple[int, ...], held: set[int], ids: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    names = ("permanent_km2", "seasonal_km2", "not_water_km2", "nodata_km2")
    return [{"unit_id": unit_id, "year": year,
             **{k: ix.clean(v) if year in held else None for k, v in zip(names, areas[y, u], strict=True)}}
            for y, year in enumerate(years) for u, unit_id in enumerate(ids)]  # fmt: skip


class Sdg661(ix.IndicatorProcess):
    process_id = "sdg-6-6-1"
    title = "SDG 6.6.1 change in the extent of water-related ecosystems"
    description = (
        "Permanent and seasonal surface water per year from sub-annual observations (a water product or MNDWI), "
        "5-year mean extents and the percentage change of permanent water from the baseline to the reporting "
        "period, per reporting unit; rasters of the latest water classes and of the permanent-water change."
    )
    keywords = ("SDG 6.6.1", "surface water", "permanent water", "seasonal water", "MNDWI")
    Inputs = Sdg661Inputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "Registered rasters, the per-unit table (JSON rows, CSV, SDMX-CSV, Features) and yearly areas"
    )
    example: ClassVar[dict[str, Any]] = {"baseline": "2000/2004", "reporting": "2020/2024", "unit_ids": ["D1"]}  # fmt: skip
    prefix = "sdg661"

    def check(self, inputs: Sdg661Inputs, cube: Cube) -> _Plan:  # type: ignore[override]
        return ix.plan_indicator(inputs, cube, water=_read(inputs))

    def graph(self, plan: _Plan, cube: Cube) -> ix.Graph:
        inputs, years = plan.inputs, plan.inputs.years()
        classes = yearly_water_classes(_observations(plan, cube), years)
        latest = classes.sel(year=years[-1], drop=True)
        change = _permanent_frequency(classes, inputs.reporting) - _permanent_frequency(classes, inputs.baseline)  # fmt: skip
        return ix.Graph(
            tables={"area": class_area(classes, plan.units, n_units=plan.n_units, class_values=_CLASSES)},
            rasters={
                "classes": ix.Layer(latest.where(latest != NODATA),
                                 f"SDG 6.6.1 water class in {years[-1]}: 0 not water, 1 seasonal, 2 permanent"),
                "change": ix.Layer(change, f"SDG 6.6.1 share of years with permanent water, {inputs.reporting} minus "
                                f"{inputs.baseline} (-1 lost ... +1 gained)"),
            },
            when=ix.mid_year(years[-1]), message="classifying water per year",
        )  # fmt: skip

    def report(self, plan: _Plan, outputs: ix.Outputs) -> ix.Report:
        inputs, held, areas = plan.inputs, set(plan.reads["water"].years), outputs.tables["area"]
        years = inputs.years()
        used = {"baseline": [y for y in inputs.baseline.years if y in held],
                "reporting": [y for y in inputs.reporting.years if y in held]}  # fmt: skip
        table = SummaryTable(
            indicator="6.6.1", series="EN_LKRV_PWAC", unit_measure="PT", value_field="permanent_change_pct",
            time_period=inputs.reporting.sdmx, rows=ix.unit_rows(plan.region, _table(areas, years, used)),
        )  # fmt: skip
        total = {k: ix.clean(v[0]) for k, v in _table(areas.sum(axis=1, keepdims=True), years, used).items()}  # fmt: skip
        return ix.Report(table, {
            "total": total, "yearly": _yearly(areas, years, held, [u.id for u in plan.region.units]),
            "years_with_data": used, "years_without_observations": [y for y in years if y not in held],
        })  # fmt: skip
