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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from sdgcube.datacube.bands import Band
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, forest_from_land_cover, forest_from_ndvi
from sdgcube.errors import NoData
from sdgcube.indicators.forest import FOREST, NODATA, NOT_LAND, OTHER_LAND, forest_proportion
from sdgcube.processes._sdg_15_3_1_inputs import norm_mask_clouds
from sdgcube.processes._sdg_inputs import (
    IndicatorInputs,
    RegionGrid,
    YearPeriod,
    check_area_has_data,
    check_band,
    check_product,
    clean,
    compute_outputs,
    dataset_years,
    input_datasets,
    lineage,
    mid_year,
    period_years,
    publish_rasters,
    resolve,
    result_outputs,
    unit_rows,
)
from sdgcube.processes.base import CubeProcessor, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.reporting import SummaryTable, publish_summary

__all__ = ["Sdg1511", "Sdg1511Inputs"]

_CLASSES = (FOREST, OTHER_LAND, NOT_LAND, NODATA)


class Sdg1511Inputs(IndicatorInputs):
    source: Literal["land_cover", "ndvi"] = Field(
        "land_cover",
        description="Forest from a land-cover product's classes, or from an NDVI threshold",
    )
    land_cover_product: str = Field("land_cover", description="Annual land-cover product")
    land_cover_band: str | None = Field(
        None, description="Band of land_cover_product; its first band if unset"
    )
    forest_classes: list[int] = Field(
        [1], min_length=1, description="Land-cover codes that are forest"
    )
    non_land_classes: list[int] = Field(
        [7], description="Land-cover codes that are not land (water bodies)"
    )
    land_cover_nodata: int | None = Field(
        None, description="Land-cover code meaning no data; default: the band's declared nodata"
    )
    reflectance_product: str = Field(
        "sr_annual", description="Reflectance product for source 'ndvi'"
    )
    red_band: str = Field("red", description="Red band of reflectance_product")
    nir_band: str = Field("nir08", description="Near-infrared band of reflectance_product")
    forest_ndvi: float = Field(
        0.7, description="For source 'ndvi': forest where NDVI is at least this"
    )
    land_ndvi: float = Field(
        0.0, description="For source 'ndvi': not land (water) where NDVI is below this"
    )
    mask_clouds: bool | None = Field(
        None, description="For source 'ndvi': drop pixels flagged cloud or shadow; default: when "
        "reflectance_product has a quality band",
    )  # fmt: skip
    years: YearPeriod = Field(
        "2000/2024", description="Years to report, start/end; years without data are skipped"
    )

    def product(self) -> str:
        return self.land_cover_product if self.source == "land_cover" else self.reflectance_product


@dataclass(frozen=True)
class _Source:
    """What the forest classes are computed from, with the years of ``years`` that have data."""

    product: str
    bands: tuple[Band, ...]
    """(land cover,) or (red, nir)."""
    years: tuple[int, ...]
    nodata: int | None
    """The land-cover code meaning no data."""
    mask_clouds: bool

    @property
    def time(self) -> tuple[str, str]:
        return str(self.years[0]), str(self.years[-1])


def _resolve(inputs: Sdg1511Inputs, cube: Cube) -> _Source:
    """The product, its bands and the years with data; refusals name the input at fault."""
    product = inputs.product()
    check_product(cube, product, field=f"{inputs.source.replace('ndvi', 'reflectance')}_product")
    bands = cube.bands(product)
    if inputs.source == "land_cover":
        names = [check_band(cube, product, inputs.land_cover_band, field="land_cover_band")]
    else:
        names = [check_band(cube, product, inputs.red_band, field="red_band"),
                 check_band(cube, product, inputs.nir_band, field="nir_band")]  # fmt: skip
    selected = bands.select(names)
    nodata = inputs.land_cover_nodata
    if nodata is None and selected[0].nodata is not None and inputs.source == "land_cover":
        nodata = int(selected[0].nodata)
    mask = inputs.source == "ndvi" and norm_mask_clouds(
        inputs.mask_clouds, bands, field="mask_clouds"
    )
    return _Source(product, selected, _years_with_data(cube, product, inputs.years), nodata, mask)


def _years_with_data(cube: Cube, product: str, period: str) -> tuple[int, ...]:
    wanted = period_years(period)
    held = dataset_years(cube.datasets(product, (str(wanted[0]), str(wanted[-1]))))
    if not held:
        have = sorted(dataset_years(cube.datasets(product)))
        span = f"{have[0]}–{have[-1]}" if have else "none"
        raise NoData(
            f"input 'years': product {product!r} has no datasets in {period} (years held: {span})"
        )
    return tuple(sorted(held))


def _forest_classes(
    inputs: Sdg1511Inputs, cube: Cube, source: _Source, grid: RegionGrid
) -> xr.DataArray:
    """int8 (year, y, x) forest classes: of each year's last land-cover map, or of its median NDVI."""
    names = [band.name for band in source.bands]
    data = cube.load(source.product, time=source.time, measurements=names, mask_nodata=inputs.source == "ndvi",
                     mask_clouds=source.mask_clouds, **grid.region.load_area())  # fmt: skip
    if inputs.source == "land_cover":
        return forest_from_land_cover(
            _per_year(data[names[0]], lambda slices: slices.isel(time=-1, drop=True)),
            forest_classes=inputs.forest_classes, non_land_classes=inputs.non_land_classes,
            nodata=source.nodata,
        )  # fmt: skip
    red, nir = (band.physical(data[band.name]) for band in source.bands)
    ndvi = _per_year((nir - red) / (nir + red), _median)
    return forest_from_ndvi(
        ndvi, forest_threshold=inputs.forest_ndvi, land_threshold=inputs.land_ndvi
    )


def _median(slices: xr.DataArray) -> xr.DataArray:
    if slices.sizes["time"] == 1:
        return slices.isel(time=0, drop=True)
    return slices.chunk(time=-1).median("time", skipna=True)


def _per_year(data: xr.DataArray, reduce: Callable[[xr.DataArray], xr.DataArray]) -> xr.DataArray:
    """(year, y, x): each year's time slices reduced to one, for the years that have any."""
    years_of = data.time.dt.year.values
    years = [int(y) for y in np.unique(years_of)]
    per_year = [reduce(data.isel(time=np.flatnonzero(years_of == y))) for y in years]
    return xr.concat(per_year, dim=xr.DataArray(years, dims="year", name="year"))


def _yearly_table(areas: np.ndarray) -> dict[str, np.ndarray]:
    """(time, unit) columns from km² (time, unit, class)."""
    forest, other = areas[..., _CLASSES.index(FOREST)], areas[..., _CLASSES.index(OTHER_LAND)]
    return {"forest_km2": forest, "land_km2": forest + other, "forest_pct": forest_proportion(forest, other),
            "nodata_km2": areas[..., _CLASSES.index(NODATA)]}  # fmt: skip


def _summary_columns(yearly: dict[str, np.ndarray], first: int, last: int) -> dict[str, np.ndarray]:
    n_units = yearly["forest_pct"].shape[1]
    return {
        "year": np.full(n_units, last),
        "forest_km2": yearly["forest_km2"][-1],
        "land_km2": yearly["land_km2"][-1],
        "forest_pct": yearly["forest_pct"][-1],
        "first_year": np.full(n_units, first),
        "forest_pct_first_year": yearly["forest_pct"][0],
        "forest_pct_change": yearly["forest_pct"][-1] - yearly["forest_pct"][0],
        "nodata_km2": yearly["nodata_km2"][-1],
        "forest_km2_change": yearly["forest_km2"][-1] - yearly["forest_km2"][0],
    }


class Sdg1511(CubeProcessor):
    process_id = "sdg-15-1-1"
    title = "SDG 15.1.1 forest area as a proportion of total land area"
    description = (
        "Forest area as a percentage of land area (water bodies excluded) per year and reporting unit, from "
        "a land-cover product or an NDVI threshold; rasters of the last year's forest and of forest change."
    )
    keywords = ("SDG 15.1.1", "forest", "land cover", "NDVI")
    Inputs = Sdg1511Inputs
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "Registered rasters, the per-unit table (JSON rows, CSV, SDMX-CSV, Features) and yearly values"
    )
    example: ClassVar[dict[str, Any]] = {"years": "2010/2015"}

    def check(self, inputs: Sdg1511Inputs, cube: Cube) -> None:  # type: ignore[override]
        source = _resolve(inputs, cube)
        grid = resolve(inputs, cube, source.product)
        check_area_has_data(cube, inputs, grid.region, source.product, source.time)

    def run(self, inputs: Sdg1511Inputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube = ctx.cube
        source = _resolve(inputs, cube)
        product = source.product
        ctx.progress(2, "resolving the area and its units")
        grid = resolve(inputs, cube, product)
        ctx.progress(
            5, "loading land cover" if inputs.source == "land_cover" else "loading reflectance"
        )
        classes = _forest_classes(inputs, cube, source, grid)
        first, last = classes.isel(year=0, drop=True), classes.isel(year=-1, drop=True)
        gained = (last == FOREST).astype("float32") - (first == FOREST).astype("float32")
        outputs = compute_outputs(
            ctx, tables={"area": class_area(classes, grid.units, n_units=grid.n_units, class_values=_CLASSES)},
            rasters={"forest": last.where(last != NODATA),
                     "change": gained.where((first != NODATA) & (last != NODATA))},
            start=10, end=80, message="classifying forest",
        )  # fmt: skip
        held = [int(y) for y in classes.year.values]
        areas = outputs.tables["area"]
        datasets = {product: input_datasets(cube, product, grid.region, source.time)}
        ctx.progress(82, "registering the rasters in the cube")
        published = publish_rasters(
            ctx, grid, outputs, prefix="sdg1511", when=mid_year(held[-1]),
            descriptions={
                "forest": f"SDG 15.1.1 forest classes in {held[-1]}: 1 forest, 0 other land, 2 not land",
                "change": f"SDG 15.1.1 forest change {held[0]}-{held[-1]}: -1 lost, 0 none, +1 gained",
            },
            properties=lineage(self.process_id, inputs, datasets),
        )  # fmt: skip
        ctx.progress(92, "writing the per-unit tables")
        yearly = _yearly_table(areas)
        table = SummaryTable(
            indicator="15.1.1", series="AG_LND_FRST", unit_measure="PT", value_field="forest_pct",
            time_period=str(held[-1]), rows=unit_rows(grid.region, _summary_columns(yearly, held[0], held[-1])),
        )  # fmt: skip
        summary = publish_summary(ctx, table, grid.region, prefix="sdg1511")
        totals = _yearly_table(areas.sum(axis=1, keepdims=True))
        return ProcessResult(
            document={
                "indicator": "15.1.1", "collections": published, "summary": summary, "years": held,
                "years_without_data": sorted(set(period_years(inputs.years)) - set(held)),
                "total": [{"year": y, **{k: clean(v[i, 0]) for k, v in totals.items()}}
                          for i, y in enumerate(held)],
                "yearly": [{"unit_id": unit.id, "year": y, **{k: clean(v[i, u]) for k, v in yearly.items()}}
                           for i, y in enumerate(held) for u, unit in enumerate(grid.region.units)],
            },
            products=tuple(published.values()),
        )  # fmt: skip
