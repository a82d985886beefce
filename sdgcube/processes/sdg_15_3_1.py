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
from odc.geo.xr import wrap_xr

from sdgcube.datacube.cube import Cube
from sdgcube.indicators.degradation import as_float
from sdgcube.processes import _sdg_15_3_1_compute as compute
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes._sdg_15_3_1_plan import Sdg1531Plan, plan_sdg_15_3_1
from sdgcube.processes.base import CubeProcessor, Plan, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.indicator import lineage, result_outputs
from sdgcube.processes.reporting import publish_summary
from sdgcube.processes.results import ResultRaster, publish_rasters, result_product_name

__all__ = ["Sdg1531", "Sdg1531Inputs"]


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
    outputs: ClassVar[dict[str, Any]] = result_outputs(
        "Collections of the sub-indicator, LPD and 15.3.1 rasters, and the summary table's rows and links "
        "(CSV, SDMX-CSV, Features)"
    )
    example: ClassVar[dict[str, Any]] = {"unit_ids": ["D3"], "trajectory_period": [2000, 2015]}

    def check(self, inputs: Sdg1531Inputs, cube: Cube) -> Sdg1531Plan:  # type: ignore[override]
        return plan_sdg_15_3_1(inputs, cube)

    def run_plan(self, plan: Plan, ctx: JobContext) -> ProcessResult:
        assert isinstance(plan, Sdg1531Plan) and isinstance(plan.inputs, Sdg1531Inputs)
        inputs, cube = plan.inputs, ctx.cube
        ctx.progress(5, "building the computation")
        ndvi, geobox = compute.reference_grid(cube, plan)
        slices = compute.Slices(cube, plan.reads, geobox)
        graph = xr.merge(
            [compute.lazy_assessment(inputs, p, slices, ndvi) for p in plan.assessments]
        )
        computed = ctx.compute(
            graph, start=8, end=75, message="computing productivity, land cover and soil carbon"
        )
        ctx.progress(76, "performance, land productivity dynamics and one-out-all-out")
        inside = compute.region_mask(plan.region, geobox)
        results = [compute.assess(computed, inputs, p, inside) for p in plan.assessments]
        ctx.progress(80, "registering the rasters in the cube")
        rasters = _rasters(results, geobox, inside, ctx.job_id)
        published = publish_rasters(
            ctx, rasters, lineage=lineage(self.process_id, inputs, list(plan.reads.values()))
        )
        ctx.progress(96, "area per reporting unit")
        table = compute.summary_table(plan.region, geobox, results)
        parts = [raster.band for raster in rasters]
        return ProcessResult(
            document={
                "collections": {part: p.product for part, p in zip(parts, published, strict=True)},
                "links": {part: p.links for part, p in zip(parts, published, strict=True)},
                "periods": {p.label: _describe(p) for p in plan.assessments},
                "summary": publish_summary(ctx, table, plan.region, prefix="sdg1531"),
            },
            products=tuple(p.product for p in published),
        )


def _rasters(
    results: list[compute.Assessment], geobox: GeoBox, inside: np.ndarray, job_id: str
) -> list[ResultRaster]:
    """Each class raster (NaN = nodata and outside the region) as its own product."""
    layers = {f"{'' if r.periods.label == 'baseline' else 'reporting_'}{part}": (r.periods, values)
              for r in results for part, values in r.layers.items()}  # fmt: skip
    if len(results) == 2:
        layers["status"] = (results[1].periods, compute.status(*results))
    rasters = []
    for part, (periods, classes) in layers.items():
        values = np.where(inside, as_float(classes), np.nan).astype(np.float32)
        rasters.append(ResultRaster(
            product=result_product_name(f"sdg1531_{part}", job_id), band=part, array=wrap_xr(values, geobox),
            when=datetime(periods.trajectory[1], 7, 1, tzinfo=UTC),
            description=f"SDG 15.3.1 {part.replace('_', ' ')} ({periods.label} {periods.time_period}); NaN = no data",
            properties={"sdgcube:part": part, "sdgcube:period": periods.label},
        ))  # fmt: skip
    return rasters


def _describe(periods: Periods) -> dict[str, Any]:
    return {
        "trajectory": list(periods.trajectory), "state_baseline": list(periods.state_baseline),
        "state_recent": list(periods.state_recent), "performance": list(periods.performance),
        "land_cover": list(periods.land_cover), "soc": list(periods.soc), "time_period": periods.time_period,
    }  # fmt: skip
