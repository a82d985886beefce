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

from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from pydantic import Field, model_validator

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import class_area, dnbr_severity, mndwi, nbr
from sdgcube.indicators.burn import BURNT_CLASSES, CLASS_NAMES, DNBR_BOUNDS, NODATA
from sdgcube.processes import indicator as ix
from sdgcube.processes.periods import YearPeriod, period_input
from sdgcube.processes.reads import Read, ReadSpec, mask_clouds_input
from sdgcube.processes.reporting import SummaryTable

__all__ = ["BurntArea", "BurntAreaInputs"]

_CLASSES = (*CLASS_NAMES, NODATA)


class BurntAreaInputs(ix.IndicatorInputs):
    reflectance_product: str = Field("sr_annual", description="Surface-reflectance product")
    nir_band: str = Field("nir08", description="Near-infrared band")
    swir2_band: str = Field("swir22", description="Short-wave infrared (~2.2 µm) band")
    pre: YearPeriod = period_input("2017", "Pre-event year or years start/end (median NBR)")
    post: YearPeriod = period_input("2018", "Post-event year or years start/end (median NBR)")
    mask_clouds: bool | None = mask_clouds_input()
    water_mndwi: float | None = Field(
        0.0, description="Mask pixels whose MNDWI exceeds this before or after the event; null: no water mask"
    )  # fmt: skip
    green_band: str = Field("green", description="Green band (water mask)")
    swir1_band: str = Field("swir16", description="Short-wave infrared (~1.6 µm) band (water mask)")
    severity_bounds: list[float] = Field(
        list(DNBR_BOUNDS), min_length=5, max_length=5,
        description="Lower dNBR bounds of unburned, low, moderate-low, moderate-high and high (Key & Benson)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _ordered(self) -> BurntAreaInputs:
        if self.pre.last >= self.post.first:
            raise ValueError(
                f"pre {str(self.pre)!r} must end before post {str(self.post)!r} starts"
            )
        if any(b <= a for a, b in pairwise(self.severity_bounds)):
            raise ValueError(f"severity_bounds {self.severity_bounds} must be strictly ascending")
        return self

    def bands(self) -> dict[str, str | None]:
        water = (
            {"green_band": self.green_band, "swir1_band": self.swir1_band}
            if self.water_mndwi is not None
            else {}
        )
        return {"nir_band": self.nir_band, "swir2_band": self.swir2_band, **water}


_Plan = ix.IndicatorPlan[BurntAreaInputs]


def _period_indices(read: Read, data: xr.Dataset, water: bool) -> dict[str, xr.DataArray]:
    """Median NBR (and MNDWI, for the water mask) of the period's time slices."""
    bands = read.physical(data)
    out = {"nbr": nbr(bands["nir_band"], bands["swir2_band"])}
    if water:
        out["mndwi"] = mndwi(bands["green_band"], bands["swir1_band"])
    if data.sizes["time"] == 1:
        return {k: v.isel(time=0, drop=True) for k, v in out.items()}
    return {k: v.chunk(time=-1).median("time", skipna=True) for k, v in out.items()}


def _dnbr(plan: _Plan, inputs: BurntAreaInputs, cube: Cube) -> xr.DataArray:
    pre_read, post_read, water = (
        plan.reads["pre"],
        plan.reads["post"],
        inputs.water_mndwi is not None,
    )
    pre_data = pre_read.load(cube, area=plan.region.load_area())
    post_data = post_read.load(cube, geobox=pre_data.odc.geobox)
    pre, post = (
        _period_indices(pre_read, pre_data, water),
        _period_indices(post_read, post_data, water),
    )
    dnbr = (pre["nbr"] - post["nbr"]).rename("dnbr")
    if water:
        dnbr = dnbr.where(
            (pre["mndwi"] <= inputs.water_mndwi) & (post["mndwi"] <= inputs.water_mndwi)
        )
    return dnbr


def _columns(areas: np.ndarray) -> dict[str, np.ndarray]:
    """Columns per unit from km² (unit, class)."""
    columns = {f"{CLASS_NAMES[c]}_km2": areas[:, _CLASSES.index(c)] for c in CLASS_NAMES}
    columns["nodata_km2"] = areas[:, _CLASSES.index(NODATA)]
    columns["burnt_km2"] = areas[:, [_CLASSES.index(c) for c in BURNT_CLASSES]].sum(axis=1)
    return columns


class BurntArea(ix.IndicatorProcess):
    process_id = "burnt-area"
    title = "Burnt area and burn severity (dNBR)"
    description = (
        "dNBR between pre- and post-event reflectance composites, Key & Benson / USGS severity classes, and the "
        "burnt area (low severity and above) per reporting unit; rasters of the severity classes and of dNBR."
    )
    keywords = ("burnt area", "burn severity", "NBR", "dNBR", "fire", "SDG 15.3.1", "SDG 13.1.1")
    Inputs = BurntAreaInputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "Registered rasters and the per-unit table (JSON rows, CSV, SDMX-CSV, Features)"
    )
    example: ClassVar[dict[str, Any]] = {"pre": "2017", "post": "2018"}
    prefix = "burnt"

    def check(self, inputs: BurntAreaInputs, cube: Cube) -> _Plan:  # type: ignore[override]
        def period(name: str) -> ReadSpec:
            return ReadSpec(inputs.reflectance_product, "reflectance_product", bands=inputs.bands(),
                            periods={name: getattr(inputs, name)}, mask_clouds=inputs.mask_clouds)  # fmt: skip

        return ix.plan_indicator(inputs, cube, pre=period("pre"), post=period("post"))

    def graph(self, plan: _Plan, cube: Cube) -> ix.Graph:
        inputs = plan.inputs
        dnbr = _dnbr(plan, inputs, cube)
        classes = dnbr_severity(dnbr, bounds=inputs.severity_bounds)
        span = f"({inputs.pre} to {inputs.post})"
        return ix.Graph(
            tables={"area": class_area(classes, plan.units, n_units=plan.n_units, class_values=_CLASSES)},
            rasters={"severity": ix.Layer(classes.where(classes != NODATA), f"burn severity {span}: -1 enhanced "
                                          "regrowth, 0 unburned, 1 low, 2 moderate-low, 3 moderate-high, 4 high"),
                     "dnbr": ix.Layer(dnbr, f"dNBR = NBR pre - NBR post {span}")},
            when=ix.mid_year(plan.reads["post"].years[-1]), message="computing dNBR and severity",
        )  # fmt: skip

    def report(self, plan: _Plan, outputs: ix.Outputs) -> ix.Report:
        inputs, areas = plan.inputs, outputs.tables["area"]
        table = SummaryTable(
            indicator="burnt area", series="EN_LND_BURNT", unit_measure="KM2", value_field="burnt_km2",
            time_period=inputs.post.sdmx, rows=ix.unit_rows(plan.region, _columns(areas)),
        )  # fmt: skip
        return ix.Report(table, {
            "total": {k: ix.clean(v[0]) for k, v in _columns(areas.sum(axis=0, keepdims=True)).items()},
            "class_codes": {str(k): v for k, v in CLASS_NAMES.items()},
            "years_with_data": {"pre": list(plan.reads["pre"].years), "post": list(plan.reads["post"].years)},
        })  # fmt: skip
