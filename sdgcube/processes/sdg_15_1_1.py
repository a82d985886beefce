"""``sdg-15-1-1``: forest area as a proportion of total land area, per year and reporting unit.

Forest comes from a land-cover product (UNCCD legend by default: class 1 tree-covered is forest,
class 7 water body is not land) or from an NDVI threshold on a reflectance product
(``sdgcube.indicators.forest``). Per unit and year: forest km², land km² (forest + other land, on
the ellipsoid), forest / land × 100 (SDMX series ``AG_LND_FRST``, percent) and ``nodata_km2``: pixels
without a class (the land-cover band's declared nodata, or no NDVI) are in neither. The summary
table reports the last year and its change since the first; every year is in the result's
``yearly`` rows. Reporting years may be sparse: the period is computed over the years that have
data (listed as ``years``) and refused only when none has.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from sdgcube.datacube import xr_indicators as xi
from sdgcube.datacube.cube import Cube
from sdgcube.indicators.forest import FOREST, NODATA, NOT_LAND, OTHER_LAND, forest_proportion
from sdgcube.processes import indicator as ix
from sdgcube.processes.periods import YearPeriod, period_input
from sdgcube.processes.reads import ReadSpec, mask_clouds_input
from sdgcube.processes.reporting import SummaryTable

__all__ = ["Sdg1511", "Sdg1511Inputs"]

_CLASSES = (FOREST, OTHER_LAND, NOT_LAND, NODATA)


class Sdg1511Inputs(ix.IndicatorInputs):
    source: Literal["land_cover", "ndvi"] = Field(
        "land_cover", description="Forest from a land-cover product's classes, or from an NDVI threshold"
    )  # fmt: skip
    land_cover_product: str = Field("land_cover", description="Annual land-cover product")
    land_cover_band: str | None = Field(
        None, description="Band of land_cover_product; its first band if unset"
    )
    forest_classes: list[int] = Field([1], min_length=1, description="Land-cover codes that are forest")  # fmt: skip
    non_land_classes: list[int] = Field(
        [7], description="Land-cover codes that are not land (water)"
    )
    land_cover_nodata: int | None = Field(
        None, description="Land-cover code meaning no data; default: the band's declared nodata"
    )  # fmt: skip
    reflectance_product: str = Field("sr_annual", description="Reflectance product for source 'ndvi'")  # fmt: skip
    red_band: str = Field("red", description="Red band of reflectance_product")
    nir_band: str = Field("nir08", description="Near-infrared band of reflectance_product")
    forest_ndvi: float = Field(0.7, description="For source 'ndvi': forest where NDVI is at least this")  # fmt: skip
    land_ndvi: float = Field(0.0, description="For source 'ndvi': not land (water) where NDVI is below this")  # fmt: skip
    mask_clouds: bool | None = mask_clouds_input("For source 'ndvi': ")
    years: YearPeriod = period_input(
        "2000/2024", "Years to report, start/end; those without data are skipped"
    )  # fmt: skip


def _read(inputs: Sdg1511Inputs) -> ReadSpec:
    if inputs.source == "land_cover":
        return ReadSpec(inputs.land_cover_product, "land_cover_product", periods={"years": inputs.years},
                        bands={"land_cover_band": inputs.land_cover_band})  # fmt: skip
    return ReadSpec(inputs.reflectance_product, "reflectance_product", periods={"years": inputs.years},
                    bands={"red_band": inputs.red_band, "nir_band": inputs.nir_band}, mask_clouds=inputs.mask_clouds)  # fmt: skip


def _forest_classes(plan: ix.IndicatorPlan, cube: Cube) -> xr.DataArray:
    """int8 (year, y, x) forest classes: of each year's last land-cover map, or of its median NDVI."""
    inputs, read = plan.inputs, plan.reads["source"]
    assert isinstance(inputs, Sdg1511Inputs)
    if inputs.source == "land_cover":
        band = read.catalog[read.bands["land_cover_band"]]
        declared = None if band.nodata is None else int(band.nodata)
        lc = read.load(cube, area=plan.region.load_area(), mask_nodata=False)[band.name]
        return xi.forest_from_land_cover(
            xi.yearly_last(lc),
            forest_classes=inputs.forest_classes, non_land_classes=inputs.non_land_classes,
            nodata=declared if inputs.land_cover_nodata is None else inputs.land_cover_nodata,
        )  # fmt: skip
    bands = read.physical(read.load(cube, area=plan.region.load_area()))
    red, nir = bands["red_band"], bands["nir_band"]
    ndvi = xi.yearly_median((nir - red) / (nir + red))
    return xi.forest_from_ndvi(
        ndvi, forest_threshold=inputs.forest_ndvi, land_threshold=inputs.land_ndvi
    )


def _yearly_table(areas: np.ndarray) -> dict[str, np.ndarray]:
    """(time, unit) columns from km² (time, unit, class)."""
    forest, other = areas[..., _CLASSES.index(FOREST)], areas[..., _CLASSES.index(OTHER_LAND)]
    return {"forest_km2": forest, "land_km2": forest + other, "forest_pct": forest_proportion(forest, other),
            "nodata_km2": areas[..., _CLASSES.index(NODATA)]}  # fmt: skip


def _summary_columns(yearly: dict[str, np.ndarray], first: int, last: int) -> dict[str, Any]:
    n_units = yearly["forest_pct"].shape[1]
    return {"year": np.full(n_units, last), "forest_km2": yearly["forest_km2"][-1], "land_km2": yearly["land_km2"][-1],
            "forest_pct": yearly["forest_pct"][-1], "first_year": np.full(n_units, first),
            "forest_pct_first_year": yearly["forest_pct"][0],
            "forest_pct_change": yearly["forest_pct"][-1] - yearly["forest_pct"][0],
            "forest_km2_change": yearly["forest_km2"][-1] - yearly["forest_km2"][0],
            "nodata_km2": yearly["nodata_km2"][-1]}  # fmt: skip


class Sdg1511(ix.IndicatorProcess):
    process_id = "sdg-15-1-1"
    title = "SDG 15.1.1 forest area as a proportion of total land area"
    description = (
        "Forest area as a percentage of land area (water bodies excluded) per year and reporting unit, from "
        "a land-cover product or an NDVI threshold; rasters of the last year's forest and of forest change."
    )
    keywords = ("SDG 15.1.1", "forest", "land cover", "NDVI")
    Inputs = Sdg1511Inputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "Registered rasters, the per-unit table (JSON rows, CSV, SDMX-CSV, Features) and yearly values"
    )
    example: ClassVar[dict[str, Any]] = {"years": "2010/2015"}
    prefix = "sdg1511"

    def check(self, inputs: Sdg1511Inputs, cube: Cube) -> ix.IndicatorPlan:  # type: ignore[override]
        return ix.plan_indicator(inputs, cube, source=_read(inputs))

    def graph(self, plan: ix.IndicatorPlan, cube: Cube) -> ix.Graph:
        classes = _forest_classes(plan, cube)
        held = plan.reads["source"].years
        first, last = classes.isel(year=0, drop=True), classes.isel(year=-1, drop=True)
        gained = (last == FOREST).astype("float32") - (first == FOREST).astype("float32")
        return ix.Graph(
            tables={"area": xi.class_area(classes, plan.units, n_units=plan.n_units, class_values=_CLASSES)},
            rasters={
                "forest": ix.Layer(last.where(last != NODATA),
                                   f"SDG 15.1.1 forest classes in {held[-1]}: 1 forest, 0 other land, 2 not land"),
                "change": ix.Layer(gained.where((first != NODATA) & (last != NODATA)),
                                   f"SDG 15.1.1 forest change {held[0]}-{held[-1]}: -1 lost, 0 none, +1 gained"),
            },
            when=ix.mid_year(held[-1]), message="classifying forest",
        )  # fmt: skip

    def report(self, plan: ix.IndicatorPlan, outputs: ix.Outputs) -> ix.Report:
        inputs, held, areas = plan.inputs, plan.reads["source"].years, outputs.tables["area"]
        assert isinstance(inputs, Sdg1511Inputs)
        yearly, totals = _yearly_table(areas), _yearly_table(areas.sum(axis=1, keepdims=True))
        table = SummaryTable(
            indicator="15.1.1", series="AG_LND_FRST", unit_measure="PT", value_field="forest_pct",
            time_period=str(held[-1]), rows=ix.unit_rows(plan.region, _summary_columns(yearly, held[0], held[-1])),
        )  # fmt: skip
        return ix.Report(table, {
            "years": list(held), "years_without_data": [y for y in inputs.years.years if y not in held],
            "total": [{"year": y, **{k: ix.clean(v[i, 0]) for k, v in totals.items()}} for i, y in enumerate(held)],
            "yearly": [{"unit_id": unit.id, "year": y, **{k: ix.clean(v[i, u]) for k, v in yearly.items()}}
                       for i, y in enumerate(held) for u, unit in enumerate(plan.region.units)],
        })  # fmt: skip
