"""The pre-template helpers ``sdg_15_1_1`` still imports, each a thin cover over the template.

Delete this module when ``sdg-15-1-1`` moves onto ``sdgcube.processes.indicator`` (it is the last
user); new code uses ``indicator``, ``reads`` and ``periods`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import xarray as xr
from datacube.model import Dataset

from sdgcube.datacube.cube import Cube
from sdgcube.errors import NoData
from sdgcube.processes import indicator as ix
from sdgcube.processes.context import JobContext
from sdgcube.processes.periods import Period, YearPeriod, norm_period
from sdgcube.processes.reads import (
    ReadSpec,
    area_input_name,
    band_name,
    product_bands,
    resolve_read,
    years_text,
)
from sdgcube.processes.regions import Region, RegionInputs, resolve_region
from sdgcube.processes.results import ResultRaster, result_product_name
from sdgcube.processes.results import publish_rasters as publish_results

__all__ = [
    "IndicatorInputs", "RegionGrid", "YearPeriod", "check_area_has_data", "check_band", "check_product",
    "check_years", "clean", "compute_outputs", "input_datasets", "lineage", "mid_year", "period_years",
    "publish_rasters", "resolve", "result_outputs", "scaled", "unit_rows",
]  # fmt: skip

IndicatorInputs, RegionGrid, Outputs = ix.IndicatorInputs, ix.IndicatorPlan, ix.Outputs
clean, mid_year, result_outputs, unit_rows = ix.clean, ix.mid_year, ix.result_outputs, ix.unit_rows


def period_years(period: str | Period) -> tuple[int, ...]:
    return norm_period(period).years


def resolve(inputs: RegionInputs, cube: Cube, product: str) -> RegionGrid:
    assert isinstance(inputs, ix.IndicatorInputs)
    return RegionGrid(inputs, resolve_region(inputs, cube, product), {})


def check_product(cube: Cube, name: str, *, field: str) -> None:
    product_bands(cube, name, field=field)


def check_band(cube: Cube, product: str, band: str | None, *, field: str) -> str:
    return band_name(cube.bands(product), band, field=field)


def check_years(cube: Cube, product: str, years: Iterable[int], *, field: str) -> None:
    """Every one of ``years`` must have datasets of ``product``."""
    held = {ds.center_time.year for ds in cube.datasets(product)}
    missing = [y for y in sorted(set(years)) if y not in held]
    if missing:
        raise NoData(f"input {field!r}: product {product!r} has no datasets in {years_text(missing)} "
                     f"(years held: {years_text(sorted(held))})")  # fmt: skip


def input_datasets(
    cube: Cube, product: str, region: Region, time: tuple[str, str] | str | None
) -> list[Dataset]:
    span = time if isinstance(time, str | None) else "/".join(time)
    spec = ReadSpec(product, product, time=span, time_field="time")
    try:
        return list(resolve_read(cube, spec, area=region.geometry, area_field="area").datasets)
    except NoData:
        return []


def check_area_has_data(cube: Cube, inputs: RegionInputs, region: Region, product: str,
                        time: tuple[str, str] | str | None) -> None:  # fmt: skip
    if not input_datasets(cube, product, region, time):
        raise NoData(
            f"input {area_input_name(inputs)!r}: product {product!r} has no data in the requested area"
        )


def compute_outputs(ctx: JobContext, *, tables: dict[str, xr.DataArray], rasters: dict[str, xr.DataArray],
                    start: float, end: float, message: str) -> ix.Outputs:  # fmt: skip
    graph = ix.Graph(
        tables, {k: ix.Layer(v, "") for k, v in rasters.items()}, datetime.min, message
    )
    return ix.compute_outputs(ctx, graph, start=start, end=end)


def publish_rasters(ctx: JobContext, grid: RegionGrid, outputs: ix.Outputs, *, prefix: str, when: datetime,
                    descriptions: dict[str, str], properties: dict[str, Any]) -> dict[str, str]:  # fmt: skip
    inside = grid.inside(outputs.rasters)
    rasters = [ResultRaster(result_product_name(f"{prefix}_{key}", ctx.job_id), key,
                            outputs.raster(key).where(inside), when, description)
               for key, description in descriptions.items()]  # fmt: skip
    return {
        key: p.product
        for key, p in zip(
            descriptions, publish_results(ctx, rasters, lineage=properties), strict=True
        )
    }


def lineage(
    process_id: str, inputs: ix.IndicatorInputs, datasets: dict[str, list[Dataset]]
) -> dict[str, Any]:
    return {**ix.lineage(process_id, inputs, []), "sdgcube:input_products": sorted(datasets),
            "sdgcube:input_datasets": sorted({str(ds.id) for group in datasets.values() for ds in group})}  # fmt: skip


def scaled(
    data: xr.Dataset, cube: Cube, product: str, bands: Sequence[str]
) -> dict[str, xr.DataArray]:
    return cube.bands(product).physical(data, bands)
