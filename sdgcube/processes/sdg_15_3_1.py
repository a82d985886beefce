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

It runs in two stages on the cluster, neither holding more than a block in any task: the per-pixel
layers (``_sdg_15_3_1_compute``) go to one tiled GeoTIFF in the job's folder; then the exact
per-land-unit percentiles of performance, and each block's classes, raster windows and km² per
unit (``_sdg_15_3_1_finish``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import xarray as xr

from sdgcube.datacube.cube import Cube
from sdgcube.processes import _sdg_15_3_1_compute as compute
from sdgcube.processes._sdg_15_3_1_finish import part_names, second_stage
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes._sdg_15_3_1_plan import Sdg1531Plan, plan_sdg_15_3_1
from sdgcube.processes._sdg_15_3_1_summary import summary_table
from sdgcube.processes.base import CubeProcessor, Plan, ProcessResult
from sdgcube.processes.blockwise import TiledRaster, create_tiled, read_tiled, write_blocks
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
        inputs = plan.inputs
        ctx.progress(5, "building the computation")
        stage = _first_stage(plan, ctx)
        parts = part_names(plan.assessments, with_ndvi="lpd" not in plan.reads)
        files, areas = second_stage(ctx, plan, stage, {
            part: f"{result_product_name(f'sdg1531_{part}', ctx.job_id)}.tif" for part, _ in parts
        })  # fmt: skip
        ctx.progress(85, "registering the rasters in the cube")
        rasters = [_result(part, periods, files[part], ctx.job_id) for part, periods in parts]
        published = publish_rasters(
            ctx, rasters, lineage=lineage(self.process_id, inputs, list(plan.reads.values()))
        )
        ctx.progress(96, "area per reporting unit")
        table = summary_table(plan.region, plan.assessments, areas)
        names = [part for part, _ in parts]
        return ProcessResult(
            document={
                "collections": {part: p.product for part, p in zip(names, published, strict=True)},
                "links": {part: p.links for part, p in zip(names, published, strict=True)},
                "periods": {p.label: _describe(p) for p in plan.assessments},
                "summary": publish_summary(ctx, table, plan.region, prefix="sdg1531"),
            },
            products=tuple(p.product for p in published),
        )


def _first_stage(plan: Sdg1531Plan, ctx: JobContext) -> dict[str, xr.DataArray]:
    """The per-pixel layers of every assessment, computed on the cluster and written window by
    window to one tiled GeoTIFF in the job's folder; read back lazily, block by block."""
    ndvi, geobox = compute.reference_grid(ctx.cube, plan)
    slices = compute.Slices(ctx.cube, plan.reads, geobox)
    graph = xr.merge(
        [compute.lazy_assessment(plan.inputs, p, slices, ndvi) for p in plan.assessments]
    )
    stage = create_tiled(ctx.work_dir / "stage.tif", geobox, list(graph.data_vars))
    writes = write_blocks({stage: [graph[name] for name in stage.bands]}, ctx.locks)
    ctx.compute_each(list(writes.to_delayed().ravel()), start=8, end=60,
                     message="computing productivity, land cover and soil carbon")  # fmt: skip
    return read_tiled(stage, geobox)


def _result(part: str, periods: Periods, file: TiledRaster, job_id: str) -> ResultRaster:
    """A class raster (NaN = nodata and outside the region) as its own product."""
    return ResultRaster(
        product=result_product_name(f"sdg1531_{part}", job_id), band=part, file=file,
        when=datetime(periods.trajectory[1], 7, 1, tzinfo=UTC),
        description=f"SDG 15.3.1 {part.replace('_', ' ')} ({periods.label} {periods.time_period}); NaN = no data",
        properties={"sdgcube:part": part, "sdgcube:period": periods.label},
    )  # fmt: skip


def _describe(periods: Periods) -> dict[str, Any]:
    return {
        "trajectory": list(periods.trajectory), "state_baseline": list(periods.state_baseline),
        "state_recent": list(periods.state_recent), "performance": list(periods.performance),
        "land_cover": list(periods.land_cover), "soc": list(periods.soc), "time_period": periods.time_period,
    }  # fmt: skip
