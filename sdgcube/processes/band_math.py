"""``band-math``: an expression over a product's bands (NDVI, MNDWI, NBR …) for an area and time.

Bands are read in physical units (scale factor and offset applied, nodata and — where the product
has a quality band — clouds masked), the expression is evaluated per time slice, the slices are
reduced to one raster, and that raster is registered back into the cube as a result product.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field

from sdgcube.datacube.cube import Cube, NativeGrid
from sdgcube.datacube.query import norm_crs_or_none
from sdgcube.errors import InvalidRequest, LimitExceeded
from sdgcube.processes.area import (
    AreaInputs,
    check_job_area,
    extent_km2,
    geodesic_km2,
    job_area_km2,
)
from sdgcube.processes.base import CubeProcessor, Plan, ProcessInputs, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.expression import BandExpression, parse_expression
from sdgcube.processes.indicator import lineage
from sdgcube.processes.reads import (
    Read,
    ReadSpec,
    area_input_name,
    mask_clouds_input,
    product_bands,
    resolve_read,
)
from sdgcube.processes.results import publish_raster, result_files, result_product_name

__all__ = ["BandMath", "BandMathInputs"]


class BandMathInputs(ProcessInputs, AreaInputs):
    # fmt: off
    product: str = Field("sr_annual", description="Product whose bands the expression reads")
    expression: str = Field(
        description="Arithmetic over band names, e.g. (nir08 - red) / (nir08 + red); "
        "functions: abs, sqrt, log, exp, minimum, maximum, clip, where",
        examples=["(nir08 - red) / (nir08 + red)"],
    )
    datetime: str | None = Field(
        None, description="A year, a date or an interval start/end (ISO 8601); unset means all time slices"
    )
    reducer: Literal["mean", "median", "min", "max", "last"] = Field(
        "mean", description="How the time slices in the period are combined into one raster"
    )
    resolution: float | None = Field(None, gt=0, description="Output pixel size in CRS units; native if unset")
    crs: str | None = Field(None, description="Output CRS (EPSG code or URI); the product's native CRS if unset")
    # fmt: on
    mask_clouds: bool | None = mask_clouds_input()


@dataclass(frozen=True)
class BandMathPlan(Plan):
    """A checked band-math request: the expression, and the bands and datasets it reads."""

    expression: BandExpression
    read: Read

    @cached_property
    def pixel_values(self) -> int:
        inputs = self.inputs
        assert isinstance(inputs, BandMathInputs)
        return self.read.pixel_values(inputs.shape(), crs=inputs.crs, resolution=inputs.resolution)

    @cached_property
    def area_km2(self) -> float:
        assert isinstance(self.inputs, BandMathInputs)
        region = self.inputs.shape()
        return geodesic_km2(region) if region is not None else extent_km2(self.read.datasets)


def _last_valid(values: np.ndarray) -> np.ndarray:
    """The last non-NaN value along the last axis (NaN where there is none)."""
    valid = ~np.isnan(values)
    last = values.shape[-1] - 1 - np.argmax(valid[..., ::-1], axis=-1)
    picked = np.take_along_axis(values, last[..., np.newaxis], axis=-1)[..., 0]
    return np.where(valid.any(axis=-1), picked, np.nan).astype(values.dtype)


def _reduce(values: xr.DataArray, reducer: str) -> xr.DataArray:
    if reducer == "last":
        return xr.apply_ufunc(
            _last_valid, values.chunk(time=-1), input_core_dims=[["time"]], dask="parallelized",
            output_dtypes=[values.dtype],
        )  # fmt: skip
    return getattr(values, reducer)("time", skipna=True)


class BandMath(CubeProcessor):
    process_id = "band-math"
    title = "Band math"
    description = (
        "Evaluate an expression over a product's bands for an area and period, reduce the period to one "
        "raster and register it in the cube as a new collection (coverage, tiles, WMS/WMTS layer)."
    )
    keywords = ("band math", "NDVI", "MNDWI", "NBR", "raster")
    Inputs = BandMathInputs
    outputs: ClassVar[dict[str, Any]] = {
        "result": {
            "title": "Registered result",
            "description": "The collection the raster was registered as, with links to use it",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    }
    example: ClassVar[dict[str, Any]] = {
        "product": "sr_annual",
        "expression": "(nir08 - red) / (nir08 + red)",
        "datetime": "2020",
    }

    def check(self, inputs: BandMathInputs, cube: Cube) -> BandMathPlan:  # type: ignore[override]
        catalog = product_bands(cube, inputs.product, field="product")
        expression = parse_expression(inputs.expression, set(catalog.every_name))
        spec = ReadSpec(inputs.product, "product", bands={b: b for b in expression.bands}, time=inputs.datetime,
                        time_field="datetime", mask_clouds=inputs.mask_clouds)  # fmt: skip
        check_job_area(inputs, cube, inputs.product)
        read = resolve_read(cube, spec, area=inputs.shape(), area_field=area_input_name(inputs))
        _check_grid(inputs, cube, read)
        return BandMathPlan(inputs, expression, read)

    def run_plan(self, plan: Plan, ctx: JobContext) -> ProcessResult:
        assert isinstance(plan, BandMathPlan) and isinstance(plan.inputs, BandMathInputs)
        inputs, read = plan.inputs, plan.read
        ctx.progress(5, "loading bands")
        data = read.load(
            ctx.cube, area=inputs.load_area(), crs=inputs.crs, resolution=inputs.resolution
        )
        reduced = _reduce(plan.expression.evaluate(read.physical(data)), inputs.reducer)
        product = result_product_name("bandmath", ctx.job_id)
        files, writes = result_files(ctx, {product: reduced.astype("float32").rename("value")})
        ctx.compute(writes, start=10, end=85, message="evaluating the expression")
        ctx.progress(90, "registering the result in the cube")
        times = pd.DatetimeIndex(data.time.values)
        published = publish_raster(
            ctx, files[product], product=product, when=times.max().to_pydatetime(),
            description=f"band-math {inputs.expression!r} over {inputs.product} ({inputs.reducer} of "
            f"{len(times)} time slice(s))", lineage=lineage(self.process_id, inputs, [read]),
        )  # fmt: skip
        return ProcessResult(
            document={"collection": product, "dataset": published.dataset_id, "links": published.links,
                      "stac_item": published.links["stac_item"],
                      "time_slices": [t.isoformat() for t in times], "expression": inputs.expression},
            products=(product,),
        )  # fmt: skip


def _check_grid(inputs: BandMathInputs, cube: Cube, read: Read) -> None:
    """The output grid must be loadable (a resolution for another CRS) and within the pixel limit."""
    native = NativeGrid.of(read.datasets).crs
    crs = norm_crs_or_none(inputs.crs) or native
    if inputs.resolution is None:
        if crs != native:
            raise InvalidRequest(
                f"input 'resolution': needed to read {inputs.product!r} in crs {inputs.crs!r}"
            )
        return
    # A fine resolution turns an allowed area into any number of pixels: bound those too.
    metres = inputs.resolution * (111_320.0 if crs.geographic else 1.0)
    slices = len({ds.center_time for ds in read.datasets})
    values = job_area_km2(inputs, cube, inputs.product) * 1e6 / metres**2 * slices
    limit = cube.settings.limits.max_job_pixels
    if values > limit:
        raise LimitExceeded(
            f"resolution {inputs.resolution} over this area and {slices} time slice(s) reads about "
            f"{values:,.0f} values, more than this server's limit of {limit:,}"
        )
