"""The indicator-process template: inputs → checked plan → lazy graph → rasters → per-unit table.

An indicator process subclasses ``IndicatorProcess`` and writes three things:

- ``check(inputs, cube) -> IndicatorPlan``: usually one ``plan_indicator(inputs, cube, name=ReadSpec(…))``
  call, which resolves the region and its units and every read (bands, datasets, cloud masking)
  and refuses, naming the input, whatever cannot work. The plan is what travels to the Dask worker;
  nothing there asks the index again.
- ``graph(plan, cube) -> Graph``: the lazy tables (per unit) and rasters, built from the plan.
- ``report(plan, outputs) -> Report``: the per-unit ``SummaryTable`` and the rest of the document.

``run_plan`` computes the graph in one pass on the cluster, every raster masked to the units and
written window by window by the worker that computed the window, while the per-unit tables are
summed per block in a tree; then it registers the rasters (one index transaction), publishes the
table (JSON, CSV, SDMX-CSV, Features) and assembles the result document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import UnitRaster, within_units
from sdgcube.processes.area import geodesic_km2
from sdgcube.processes.base import CubeProcessor, Plan, ProcessInputs, ProcessResult
from sdgcube.processes.blockwise import TiledRaster
from sdgcube.processes.context import JobContext
from sdgcube.processes.reads import (
    Read,
    ReadSpec,
    area_input_name,
    datasets_of,
    product_bands,
    resolve_read,
)
from sdgcube.processes.regions import Region, RegionInputs, resolve_region, unit_index_raster
from sdgcube.processes.reporting import SummaryTable, publish_summary
from sdgcube.processes.results import (
    Published,
    ResultRaster,
    publish_rasters,
    result_files,
    result_product_name,
    software_version,
)

__all__ = [
    "Graph",
    "IndicatorInputs",
    "IndicatorPlan",
    "IndicatorProcess",
    "Layer",
    "Outputs",
    "Report",
    "clean",
    "compute_outputs",
    "lineage",
    "mid_year",
    "plan_indicator",
    "result_outputs",
    "unit_rows",
]


class IndicatorInputs(ProcessInputs, RegionInputs):
    """Base of the indicator processes' inputs: the area and its reporting units."""


@dataclass(frozen=True)
class IndicatorPlan[InputsT: IndicatorInputs](Plan):
    """A checked indicator request: the region with its units, and each read by name.

    ``IndicatorPlan[MyInputs]`` types ``plan.inputs`` for a process's own methods."""

    inputs: InputsT
    region: Region
    reads: Mapping[str, Read]

    @cached_property
    def pixel_values(self) -> int:
        """Every read over the region on its own native grid: what is read from disk, also where
        the job resamples a read onto another one's grid."""
        return sum(read.pixel_values(self.region.geometry) for read in self.reads.values())

    @cached_property
    def area_km2(self) -> float:
        return geodesic_km2(self.region.geometry)

    @property
    def n_units(self) -> int:
        return len(self.region.units)

    @property
    def units(self) -> UnitRaster:
        """Burns the units into any grid (int32, 0 outside, i + 1 in unit i)."""
        return partial(unit_index_raster, self.region)


def plan_indicator[InputsT: IndicatorInputs](
    inputs: InputsT, cube: Cube, **reads: ReadSpec
) -> IndicatorPlan[InputsT]:
    """Resolve the region (its default area: the first read's product) and every read over it."""
    for spec in reads.values():
        product_bands(cube, spec.product, field=spec.field)  # an unknown product before any area
    region = resolve_region(inputs, cube, next(iter(reads.values())).product)
    area_field = area_input_name(inputs)
    resolved = {name: resolve_read(cube, spec, area=region.geometry, area_field=area_field)
                for name, spec in reads.items()}  # fmt: skip
    return IndicatorPlan(inputs, region, resolved)


@dataclass(frozen=True)
class Layer:
    """A raster output: lazy (y, x) values and the description its product is registered with."""

    array: xr.DataArray
    description: str
    when: datetime | None = None
    """Registered at this time instead of the graph's."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """STAC properties of this raster alone, over the job's lineage."""


@dataclass(frozen=True)
class Graph:
    """Everything a process computes, lazy: per-unit tables and rasters, computed in one pass."""

    tables: Mapping[str, xr.DataArray]
    rasters: Mapping[str, Layer]
    when: datetime
    """The time the rasters are registered with."""
    message: str
    """Progress message while the graph computes."""


@dataclass(frozen=True)
class Outputs:
    """What computing a Graph gave: the per-unit tables, and each raster written to its file."""

    tables: dict[str, np.ndarray]
    files: dict[str, TiledRaster]
    """Raster key → its tiled GeoTIFF (float32, NaN no data and outside the units)."""


@dataclass(frozen=True)
class Report:
    """The per-unit table and the rest of the result document (``total``, yearly rows …)."""

    table: SummaryTable
    document: Mapping[str, Any]


def compute_outputs(
    ctx: JobContext, plan: IndicatorPlan, graph: Graph, prefix: str, *, start: float, end: float
) -> Outputs:
    """Compute every output in one graph, so shared inputs are read once: the tables come back,
    the rasters (NaN outside the units, as product ``<prefix>_<key>_<job>``) go to files."""
    rasters = {result_product_name(f"{prefix}_{key}", ctx.job_id): within_units(layer.array, plan.units).rename(key)
               for key, layer in graph.rasters.items()}  # fmt: skip
    files, writes = result_files(ctx, rasters)
    tables = {f"table_{k}": v for k, v in graph.tables.items()}
    written = xr.DataArray(writes, dims=("block_y", "block_x"))
    computed = ctx.compute(
        xr.Dataset({**tables, "written": written}), start=start, end=end, message=graph.message
    )
    by_key = dict(zip(graph.rasters, files.values(), strict=True))
    return Outputs({k: np.asarray(computed[f"table_{k}"].values) for k in graph.tables}, by_key)


def lineage(process_id: str, inputs: ProcessInputs, reads: Sequence[Read]) -> dict[str, Any]:
    """STAC properties recording how to re-run the job: process, inputs, input datasets, software."""
    datasets = datasets_of(reads)
    return {
        "sdgcube:process": process_id,
        "sdgcube:inputs": inputs.model_dump(mode="json"),
        "sdgcube:input_datasets": sorted({i for ids in datasets.values() for i in ids}),
        "sdgcube:input_products": sorted(datasets),
        "sdgcube:software": software_version(),
    }


def mid_year(year: int) -> datetime:
    """The time stamp a result for ``year`` is registered with."""
    return datetime(year, 7, 1)


def clean(value: Any, digits: int = 6) -> Any:
    """A JSON-safe number: NaN and infinities become None, floats are rounded."""
    if isinstance(value, float | np.floating):
        number = float(value)
        return None if not math.isfinite(number) else round(number, digits)
    if isinstance(value, np.integer):
        return int(value)
    return value


def unit_rows(
    region: Region, columns: Mapping[str, np.ndarray | Sequence[Any]]
) -> tuple[dict[str, Any], ...]:
    """One row per unit: ``unit_id``, ``unit_name``, then each column's value for that unit."""
    return tuple({"unit_id": unit.id, "unit_name": unit.name, **{k: clean(v[i]) for k, v in columns.items()}}
                 for i, unit in enumerate(region.units))  # fmt: skip


def result_outputs(description: str) -> dict[str, Any]:
    """The OGC output description of the indicator processes: one JSON document."""
    return {"result": {"title": "Indicator result", "description": description,
                       "schema": {"type": "object", "contentMediaType": "application/json"}}}  # fmt: skip


class IndicatorProcess(CubeProcessor):
    """An indicator process on the template: subclasses write ``check``, ``graph`` and ``report``."""

    prefix: ClassVar[str]
    """Result products and layers are named ``<prefix>_<key>_<job>``."""

    def check(self, inputs: ProcessInputs, cube: Cube) -> IndicatorPlan:
        raise NotImplementedError

    def graph(self, plan: IndicatorPlan, cube: Cube) -> Graph:
        raise NotImplementedError

    def report(self, plan: IndicatorPlan, outputs: Outputs) -> Report:
        raise NotImplementedError

    def run_plan(self, plan: Plan, ctx: JobContext) -> ProcessResult:
        assert isinstance(plan, IndicatorPlan)
        ctx.progress(5, "loading the inputs")
        graph = self.graph(plan, ctx.cube)
        outputs = compute_outputs(ctx, plan, graph, self.prefix, start=10, end=80)
        ctx.progress(82, "registering the rasters in the cube")
        published = self.publish(plan, graph, outputs, ctx)
        ctx.progress(92, "writing the per-unit tables")
        report = self.report(plan, outputs)
        summary = publish_summary(ctx, report.table, plan.region, prefix=self.prefix)
        document = {"indicator": report.table.indicator, "collections": {k: p.product for k, p in published.items()},
                    "links": {k: p.links for k, p in published.items()}, "summary": summary, **report.document}  # fmt: skip
        return ProcessResult(
            document=document, products=tuple(p.product for p in published.values())
        )

    def publish(
        self, plan: IndicatorPlan, graph: Graph, outputs: Outputs, ctx: JobContext
    ) -> dict[str, Published]:
        """Register each written raster as product ``<prefix>_<key>_<job>``."""
        rasters = [ResultRaster(product=result_product_name(f"{self.prefix}_{key}", ctx.job_id), band=key,
                                file=outputs.files[key], when=layer.when or graph.when,
                                description=layer.description, properties=layer.properties)
                   for key, layer in graph.rasters.items()]  # fmt: skip
        properties = lineage(self.process_id, plan.inputs, list(plan.reads.values()))
        return dict(
            zip(graph.rasters, publish_rasters(ctx, rasters, lineage=properties), strict=True)
        )
