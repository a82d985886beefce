"""``sdg-15-3-1``: proportion of land that is degraded, as Trends.Earth applies UNCCD GPG v2.

Productivity (trajectory, state, performance → five LPD classes, or a user's LPD product), land
cover (a transition matrix over the UNCCD legend) and soil organic carbon (percent change) are
combined one-out-all-out. Each sub-indicator raster, the LPD raster and the 15.3.1 raster are
registered back into the cube (NaN = nodata; classes −1 degraded, 0 stable, 1 improved, LPD 1–5),
and the area of degraded / stable / improved / no-data land per reporting unit goes out as JSON,
CSV, SDMX-CSV (series ``AG_LND_DGRD``, unit ``PT``) and a Features collection.

Water, as in Trends.Earth's ``land_deg.py``, is the water of an assessment's baseline land cover
(the reporting period's status: of the reporting period's baseline land cover); land that turns
into water keeps its class. Per unit: ``area_km2`` = ``land_km2`` + ``water_km2``;
``degraded_pct`` = degraded / land (the SDG value, ``OBS_VALUE``),
``degraded_pct_excluding_no_data`` = degraded / (degraded + stable + improved),
``degraded_pct_of_area`` = degraded / area (the denominator of Trends.Earth's summary table);
``reporting_*`` columns are the same for the status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize, wrap_xr
from shapely.geometry import mapping

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.datacube.cube import Cube
from sdgcube.errors import InvalidRequest, NoData, UnknownProduct
from sdgcube.indicators.degradation import as_float
from sdgcube.processes import _sdg_15_3_1_compute as compute
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes.base import CubeProcessor, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.regions import Region, resolve_region, unit_index_raster
from sdgcube.processes.reporting import SummaryTable, publish_summary
from sdgcube.processes.results import publish_raster, result_product_name, software_version

__all__ = ["Sdg1531", "Sdg1531Inputs"]

_PRODUCT_INPUTS = (
    "ndvi_product",
    "lpd_product",
    "land_cover_product",
    "soc_product",
    "ecological_units_product",
)


def _check_products(inputs: Sdg1531Inputs, cube: Cube) -> None:
    for name in _PRODUCT_INPUTS:
        product = getattr(inputs, name)
        if product is None or (name == "ndvi_product" and inputs.lpd_product):
            continue
        try:
            cube.product(product)
        except UnknownProduct:
            raise InvalidRequest(f"input {name!r}: unknown product {product!r}") from None
    if not inputs.lpd_product:
        inputs.ndvi_source(cube)


def _span(years: set[int]) -> str:
    ordered = sorted(years)
    if ordered and ordered[-1] - ordered[0] + 1 == len(ordered):
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered)) or "no datasets"


def _check_periods(inputs: Sdg1531Inputs, cube: Cube, assessments: list[Periods]) -> None:
    for periods in assessments:
        if inputs.lpd_product:
            if compute.nearest_year(cube, inputs.lpd_product, periods.trajectory[1]) is None:
                raise NoData(f"input 'lpd_product': {inputs.lpd_product!r} has no dataset up to {periods.trajectory[1]}, "
                             f"the end of the {periods.label} trajectory_period")  # fmt: skip
        else:
            years = compute.dataset_years(cube, inputs.ndvi_product)
            for name, (first, last) in periods.ndvi_periods().items():
                if not years or first < min(years) or last > max(years):
                    raise NoData(f"input {name!r} {first}-{last} lies outside the years of {inputs.ndvi_product!r} "
                                 f"({_span(years)})")  # fmt: skip
        for kind, product in (
            ("land_cover", inputs.land_cover_product),
            ("soc", inputs.soc_product),
        ):
            available = compute.dataset_years(cube, product)
            for name, year in periods.years(kind).items():
                if year not in available:
                    raise NoData(
                        f"input {name!r}: {product!r} has no dataset in {year} (it has {_span(available)})"
                    )


def _check_area(inputs: Sdg1531Inputs, cube: Cube, region: Region) -> None:
    product = inputs.reference_product
    if not cube.dc.find_datasets(
        product=product, geopolygon=Geometry(region.geometry, "EPSG:4326")
    ):
        given = [name for name in ("bbox", "geometry", "unit_ids") if getattr(inputs, name)] or [
            "units_layer"
        ]
        raise NoData(f"input {given[0]!r}: no dataset of {product!r} covers the requested area")


class Sdg1531(CubeProcessor):
    process_id = "sdg-15-3-1"
    title = "SDG 15.3.1 land degradation"
    description = (
        "Proportion of land that is degraded over total land area (SDG 15.3.1) as Trends.Earth applies UNCCD "
        "GPG v2: productivity trajectory, state and performance combined into land productivity dynamics, "
        "land-cover transitions and soil organic carbon change, one-out-all-out; each raster is registered as a "
        "collection and the area per reporting unit is published as JSON, CSV, SDMX-CSV and features."
    )
    keywords = ("SDG 15.3.1", "land degradation", "LPD", "NDVI", "Trends.Earth", "UNCCD")
    Inputs = Sdg1531Inputs
    outputs: ClassVar[dict[str, Any]] = {
        "result": {
            "title": "Registered rasters and the per-unit summary",
            "description": "Collections of the sub-indicator, LPD and 15.3.1 rasters, and the summary table's rows "
            "and links (CSV, SDMX-CSV, Features)",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    }
    example: ClassVar[dict[str, Any]] = {"unit_ids": ["D3"], "trajectory_period": [2000, 2015]}

    def check(self, inputs: Sdg1531Inputs, cube: Cube) -> None:  # type: ignore[override]
        _check_products(inputs, cube)
        assessments = [inputs.baseline(), *filter(None, [inputs.reporting()])]
        _check_periods(inputs, cube, assessments)
        _check_area(inputs, cube, resolve_region(inputs, cube, inputs.reference_product))

    def run(self, inputs: Sdg1531Inputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube = ctx.cube
        ctx.progress(2, "resolving the region and periods")
        region = resolve_region(inputs, cube, inputs.reference_product)
        baseline, reporting = inputs.baseline(), inputs.reporting()
        assessments = [p for p in (baseline, reporting) if p is not None]
        ndvi, geobox = _reference_grid(cube, inputs, assessments, region)
        ctx.progress(5, "building the computation")
        slices = compute.Slices(cube, geobox)
        graph = xr.merge([compute.lazy_assessment(inputs, p, slices, ndvi) for p in assessments])
        computed = ctx.compute(
            graph, start=8, end=75, message="computing productivity, land cover and soil carbon"
        )
        ctx.progress(76, "performance, land productivity dynamics and one-out-all-out")
        inside = _region_mask(region, geobox)
        results = [compute.assess(computed, inputs, p, inside) for p in assessments]
        rasters = {f"{'' if r.periods.label == 'baseline' else 'reporting_'}{part}": (r.periods, values)
                   for r in results for part, values in r.layers.items()}  # fmt: skip
        if len(results) == 2:
            rasters["status"] = (results[1].periods, compute.status(results[0], results[1]))
        lineage = _lineage(self, inputs, cube, slices, assessments)
        products = _publish(ctx, lineage, rasters, geobox, inside)
        ctx.progress(96, "area per reporting unit")
        summary = _summary(ctx, region, geobox, results)
        return ProcessResult(
            document={
                "collections": products,
                "periods": {p.label: _describe(p) for p in assessments},
                "summary": summary,
            },
            products=tuple(products.values()),
        )


def _reference_grid(
    cube: Cube, inputs: Sdg1531Inputs, assessments: list[Periods], region: Region
) -> tuple[xr.DataArray | None, GeoBox]:
    """Annual NDVI over every year any assessment needs (None with an LPD product) and the output grid."""
    if inputs.lpd_product:
        year = compute.nearest_year(cube, inputs.lpd_product, assessments[0].trajectory[1])
        data = cube.load(
            inputs.lpd_product, time=str(year), chunks=compute.CHUNKS, **region.load_area()
        )
        return None, data.odc.geobox
    first = min(p.ndvi_years[0] for p in assessments)
    last = max(p.ndvi_years[1] for p in assessments)
    ndvi = compute.load_ndvi(cube, inputs.ndvi_source(cube), (first, last), region.load_area())
    return ndvi, ndvi.odc.geobox


def _region_mask(region: Region, geobox: GeoBox) -> np.ndarray:
    """True on the pixels whose centre lies in the region (the grid covers its bounding box)."""
    assert geobox.crs is not None  # the grid of a loaded product
    return np.asarray(
        rasterize(Geometry(mapping(region.geometry), "EPSG:4326").to_crs(geobox.crs), geobox).values
    )


def _lineage(
    process: Sdg1531,
    inputs: Sdg1531Inputs,
    cube: Cube,
    slices: compute.Slices,
    assessments: list[Periods],
) -> dict[str, Any]:
    """STAC properties recording what the rasters came from: inputs, input datasets, software."""
    used = [(product, str(year)) for product, year in slices.loaded]
    if not inputs.lpd_product:
        first = min(p.ndvi_years[0] for p in assessments)
        used.append((inputs.ndvi_product, f"{first}/{max(p.ndvi_years[1] for p in assessments)}"))
    return {
        "sdgcube:process": process.process_id,
        "sdgcube:inputs": inputs.model_dump(mode="json"),
        "sdgcube:input_datasets": sorted(
            {str(ds.id) for product, time in used for ds in cube.datasets(product, time)}
        ),
        "sdgcube:software": software_version(),
    }


def _publish(
    ctx: JobContext, lineage: dict[str, Any], rasters: dict[str, tuple[Periods, np.ndarray]], geobox: GeoBox,
    inside: np.ndarray,
) -> dict[str, str]:  # fmt: skip
    """Register each class raster (NaN = nodata and outside the region) as its own product."""
    products = {}
    for done, (part, (periods, classes)) in enumerate(rasters.items()):
        ctx.progress(
            78 + 17 * done / len(rasters), f"registering the {part.replace('_', ' ')} raster"
        )
        values = np.where(inside, as_float(classes), np.nan).astype(np.float32)
        product = result_product_name(f"sdg1531_{part}", ctx.job_id)
        publish_raster(
            ctx, wrap_xr(values, geobox), product=product, band_name=part,
            when=datetime(periods.trajectory[1], 7, 1, tzinfo=UTC),
            description=f"SDG 15.3.1 {part.replace('_', ' ')} ({periods.label} {periods.time_period}); NaN = no data",
            lineage={**lineage, "sdgcube:part": part, "sdgcube:period": periods.label},
        )  # fmt: skip
        products[part] = product
    return products


def _summary(
    ctx: JobContext, region: Region, geobox: GeoBox, results: list[compute.Assessment]
) -> dict[str, Any]:
    units = unit_index_raster(region, geobox)
    area = pixel_area_km2(geobox)
    names = [(u.id, u.name) for u in region.units]
    if len(results) == 2:
        status = compute.status(results[0], results[1])
        rows = compute.summary_rows(names, units, area, results[0], status, results[1].water)
        field, period = "reporting_degraded_pct", results[1].periods.time_period
    else:
        rows = compute.summary_rows(names, units, area, results[0])
        field, period = "degraded_pct", results[0].periods.time_period
    table = SummaryTable(indicator="15.3.1", series="AG_LND_DGRD", unit_measure="PT", value_field=field,
                         time_period=period, rows=rows)  # fmt: skip
    return publish_summary(ctx, table, region, prefix="sdg1531")


def _describe(periods: Periods) -> dict[str, Any]:
    return {
        "trajectory": list(periods.trajectory), "state_baseline": list(periods.state_baseline),
        "state_recent": list(periods.state_recent), "performance": list(periods.performance),
        "land_cover": list(periods.land_cover), "soc": list(periods.soc), "time_period": periods.time_period,
    }  # fmt: skip
