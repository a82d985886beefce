"""``burnt-area``: burn severity from the change in NBR between pre- and post-event composites.

NBR = (NIR − SWIR2) / (NIR + SWIR2) per time slice of a reflectance product (clouds masked), the
median over the pre-event years and over the post-event years, dNBR = NBR_pre − NBR_post, and the
Key & Benson / USGS severity classes (``sdgcube.indicators.burn``: −1 enhanced regrowth, 0 unburned,
1 low, 2 moderate-low, 3 moderate-high, 4 high). Water (MNDWI above a threshold before or after)
is masked: open water's NBR is noise, and a shrinking lake or a flood would read as burnt.

Per reporting unit: km² of each class, and burnt area (low and above) in km² — reported as SDMX
series ``EN_LND_BURNT`` (sdgcube's own code: the UN SDG list has no burnt-area series), unit ``KM2``.
Rasters registered: the severity classes (NaN no data) and dNBR.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from pydantic import Field, model_validator

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, dnbr_severity, mndwi, nbr
from sdgcube.indicators.burn import BURNT_CLASSES, CLASS_NAMES, DNBR_BOUNDS, NODATA
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

__all__ = ["BurntArea", "BurntAreaInputs"]

_CLASSES = (*CLASS_NAMES, NODATA)


class BurntAreaInputs(IndicatorInputs):
    reflectance_product: str = Field("sr_annual", description="Surface-reflectance product")
    nir_band: str = Field("nir08", description="Near-infrared band")
    swir2_band: str = Field("swir22", description="Short-wave infrared (~2.2 µm) band")
    pre: YearPeriod = Field("2017", description="Pre-event year or years start/end (median NBR)")
    post: YearPeriod = Field("2018", description="Post-event year or years start/end (median NBR)")
    mask_clouds: bool = Field(
        True, description="Drop pixels the quality band flags as cloud or shadow"
    )
    water_mndwi: float | None = Field(
        0.0,
        description="Mask pixels whose MNDWI exceeds this before or after the event; null: no water mask",
    )
    green_band: str = Field("green", description="Green band (water mask)")
    swir1_band: str = Field("swir16", description="Short-wave infrared (~1.6 µm) band (water mask)")
    severity_bounds: list[float] = Field(
        list(DNBR_BOUNDS), min_length=5, max_length=5,
        description="Lower dNBR bounds of unburned, low, moderate-low, moderate-high and high (Key & Benson)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _ordered(self) -> BurntAreaInputs:
        if period_years(self.pre)[-1] >= period_years(self.post)[0]:
            raise ValueError(f"pre {self.pre!r} must end before post {self.post!r} starts")
        if any(b <= a for a, b in itertools.pairwise(self.severity_bounds)):
            raise ValueError(f"severity_bounds {self.severity_bounds} must be strictly ascending")
        return self

    def span(self) -> tuple[str, str]:
        """First and last year read, pre-event to post-event."""
        return str(period_years(self.pre)[0]), str(period_years(self.post)[-1])

    def bands(self) -> list[str]:
        water = [self.green_band, self.swir1_band] if self.water_mndwi is not None else []
        return [self.nir_band, self.swir2_band, *water]


_BAND_FIELDS = ("nir_band", "swir2_band", "green_band", "swir1_band")


def _period_indices(
    inputs: BurntAreaInputs, cube: Cube, data: xr.Dataset, names: list[str]
) -> dict[str, xr.DataArray]:
    """Median NBR (and MNDWI, for the water mask) of the period's time slices."""
    bands = scaled(data, cube, inputs.reflectance_product, names)
    out = {"nbr": nbr(bands[names[0]], bands[names[1]])}
    if inputs.water_mndwi is not None:
        out["mndwi"] = mndwi(bands[names[2]], bands[names[3]])
    if data.sizes["time"] == 1:
        return {k: v.isel(time=0, drop=True) for k, v in out.items()}
    return {k: v.chunk(time=-1).median("time", skipna=True) for k, v in out.items()}


def _dnbr(inputs: BurntAreaInputs, cube: Cube, grid: RegionGrid) -> xr.DataArray:
    product = inputs.reflectance_product
    names = [
        check_band(cube, product, b, field=f)
        for b, f in zip(inputs.bands(), _BAND_FIELDS, strict=False)
    ]
    pre_years, post_years = period_years(inputs.pre), period_years(inputs.post)
    pre_data = cube.load(product, time=(str(pre_years[0]), str(pre_years[-1])), measurements=names,
                         mask_nodata=True, mask_clouds=inputs.mask_clouds, **grid.region.load_area())  # fmt: skip
    post_data = cube.load(product, time=(str(post_years[0]), str(post_years[-1])), measurements=names,
                          mask_nodata=True, mask_clouds=inputs.mask_clouds, geobox=pre_data.odc.geobox)  # fmt: skip
    pre, post = (
        _period_indices(inputs, cube, pre_data, names),
        _period_indices(inputs, cube, post_data, names),
    )
    dnbr = (pre["nbr"] - post["nbr"]).rename("dnbr")
    if inputs.water_mndwi is not None:
        dnbr = dnbr.where(
            (pre["mndwi"] <= inputs.water_mndwi) & (post["mndwi"] <= inputs.water_mndwi)
        )
    return dnbr


class BurntArea(CubeProcessor):
    process_id = "burnt-area"
    title = "Burnt area and burn severity (dNBR)"
    description = (
        "dNBR between pre- and post-event reflectance composites, Key & Benson / USGS severity classes, and the "
        "burnt area (low severity and above) per reporting unit; rasters of the severity classes and of dNBR."
    )
    keywords = ("burnt area", "burn severity", "NBR", "dNBR", "fire", "SDG 15.3.1", "SDG 13.1.1")
    Inputs = BurntAreaInputs
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "Registered rasters and the per-unit table (JSON rows, CSV, SDMX-CSV, Features)"
    )
    example: ClassVar[dict[str, Any]] = {"pre": "2017", "post": "2018"}

    def check(self, inputs: BurntAreaInputs, cube: Cube) -> None:  # type: ignore[override]
        product = inputs.reflectance_product
        check_product(cube, product, field="reflectance_product")
        for band, field in zip(inputs.bands(), _BAND_FIELDS, strict=False):
            check_band(cube, product, band, field=field)
        check_years(cube, product, period_years(inputs.pre), field="pre")
        check_years(cube, product, period_years(inputs.post), field="post")
        grid = resolve(inputs, cube, product)
        check_area_has_data(cube, inputs, grid.region, product, inputs.span())

    def run(self, inputs: BurntAreaInputs, ctx: JobContext) -> ProcessResult:  # type: ignore[override]
        cube, product = ctx.cube, inputs.reflectance_product
        ctx.progress(2, "resolving the area and its units")
        grid = resolve(inputs, cube, product)
        ctx.progress(5, "loading pre- and post-event reflectance")
        dnbr = _dnbr(inputs, cube, grid)
        classes = dnbr_severity(dnbr, bounds=inputs.severity_bounds)
        outputs = compute_outputs(
            ctx, tables={"area": class_area(classes, grid.units, n_units=grid.n_units, class_values=_CLASSES)},
            rasters={"severity": classes.where(classes != NODATA), "dnbr": dnbr},
            start=10, end=80, message="computing dNBR and severity",
        )  # fmt: skip
        areas = outputs.tables["area"]
        datasets = {product: input_datasets(cube, product, grid.region, inputs.span())}
        ctx.progress(82, "registering the rasters in the cube")
        span = f"({inputs.pre} to {inputs.post})"
        published = publish_rasters(
            ctx, grid, outputs, prefix="burnt", when=mid_year(period_years(inputs.post)[-1]),
            descriptions={
                "severity": f"burn severity {span}: -1 enhanced regrowth, 0 unburned, 1 low, 2 moderate-low, "
                "3 moderate-high, 4 high",
                "dnbr": f"dNBR = NBR pre - NBR post {span}",
            },
            properties=lineage(self.process_id, inputs, datasets),
        )  # fmt: skip
        ctx.progress(92, "writing the per-unit tables")
        table = SummaryTable(
            indicator="burnt area", series="EN_LND_BURNT", unit_measure="KM2", value_field="burnt_km2",
            time_period=inputs.post.replace("/", "-"), rows=unit_rows(grid.region, _columns(areas)),
        )  # fmt: skip
        summary = publish_summary(ctx, table, grid.region, prefix="burnt")
        total = {k: clean(v[0]) for k, v in _columns(areas.sum(axis=0, keepdims=True)).items()}
        return ProcessResult(
            document={"indicator": "burnt area", "collections": published, "summary": summary, "total": total,
                      "class_codes": {str(k): v for k, v in CLASS_NAMES.items()}},
            products=tuple(published.values()),
        )  # fmt: skip


def _columns(areas: np.ndarray) -> dict[str, np.ndarray]:
    """Columns per unit from km² (unit, class)."""
    columns = {f"{CLASS_NAMES[c]}_km2": areas[:, _CLASSES.index(c)] for c in CLASS_NAMES}
    columns["nodata_km2"] = areas[:, _CLASSES.index(NODATA)]
    columns["burnt_km2"] = areas[:, [_CLASSES.index(c) for c in BURNT_CLASSES]].sum(axis=1)
    return columns
