"""The building-segmentation job: infer block by block, register rasters, polygonise, report per unit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.windows import Window
from shapely.geometry import mapping

from sdgcube.models.evaluation import write_metric_table
from sdgcube.models.footprints import (
    Footprint,
    count_per_unit,
    footprints_wgs84,
    polygonise_strips,
    regularise,
    write_footprints,
)
from sdgcube.models.inference import Segmenter
from sdgcube.models.metrics import confusion_matrix, segmentation_metrics
from sdgcube.models.training import resolve_device
from sdgcube.processes import indicator as ix
from sdgcube.processes._segmentation_io import NODATA, CubeBlockReader, classified_blocks
from sdgcube.processes.base import ProcessResult
from sdgcube.processes.blockwise import TiledRaster, create_tiled
from sdgcube.processes.building_segmentation import SegmentationPlan, to_crs
from sdgcube.processes.context import JobContext
from sdgcube.processes.reporting import SummaryTable, outputs_dir, publish_summary
from sdgcube.processes.results import ResultRaster, publish_rasters, result_product_name

if TYPE_CHECKING:
    from sdgcube.processes.building_segmentation import BuildingSegmentation

__all__ = ["run_segmentation"]


@dataclass(frozen=True)
class _Rasters:
    mask: TiledRaster
    probability: TiledRaster
    confusion: np.ndarray | None
    """Over the area's labelled pixels, when a labels product was given."""


def _segment(plan: SegmentationPlan, ctx: JobContext) -> _Rasters:
    card, inputs = plan.card, plan.inputs
    model = ctx.services.models.load(inputs.model)
    device = resolve_device("auto")
    model.network.to(device)  # the registry's shared copy: every job of a worker uses one device
    # one window at a time on the CPU is as fast as four (oneDNN), and no batch is padded
    segmenter = Segmenter(model, plan.window, device, batch_size=16 if device.type == "cuda" else 1)
    image = CubeBlockReader(
        ctx.cube, inputs.product, card.bands, plan.grid, plan.reads["image"].datasets
    )
    labels = (CubeBlockReader(ctx.cube, plan.reads["labels"].product, tuple(plan.reads["labels"].catalog.names[:1]),
                              plan.grid, plan.reads["labels"].datasets) if "labels" in plan.reads else None)  # fmt: skip
    region = [mapping(to_crs(plan.region.geometry, plan.grid.crs))]
    threshold = inputs.threshold or card.threshold
    cm = np.zeros((2, 2), dtype=np.int64)
    mask_path, probability_path = ctx.work_dir / "mask.tif", ctx.work_dir / "probability.tif"
    total, done = plan.area.rows * plan.area.cols, 0
    geobox = plan.grid.geobox(plan.area)
    mask = create_tiled(mask_path, geobox, ["building"], dtype="uint8", nodata=NODATA)
    probability = create_tiled(
        probability_path, geobox, ["probability"], dtype="uint8", nodata=NODATA
    )
    for part in classified_blocks(segmenter, plan.area, image, plan.grid, region, threshold):
        block = part.area
        top, left = block.row - plan.area.row, block.col - plan.area.col
        mask.write(part.mask[None], top, left)
        probability.write(part.percent[None], top, left)
        if labels is not None:
            truth = labels(block)[0]
            keep = ~part.outside & np.isin(truth, (0, 1))
            cm += confusion_matrix(truth[keep].astype(np.uint8), part.mask[keep])
        done += block.rows * block.cols
        ctx.progress(
            5 + 60 * done / total,
            f"segmenting buildings: {done / 1e6:.1f} of {total / 1e6:.1f} Mpx",
        )
    return _Rasters(mask, probability, cm if labels is not None else None)


def _footprints(plan: SegmentationPlan, mask_path: Path, ctx: JobContext) -> list[Footprint]:
    with rasterio.open(mask_path) as src:

        def read_strip(start: int, stop: int) -> np.ndarray:
            return src.read(1, window=Window(0, start, src.width, stop - start)) == 1

        ctx.progress(72, "polygonising the footprints")
        polygons = polygonise_strips(read_strip, src.height, src.width, src.transform)
        return regularise(polygons, min_area_m2=plan.inputs.min_area_m2)


def _register(plan: SegmentationPlan, rasters: _Rasters, ctx: JobContext, lineage: dict[str, Any]) -> dict[str, dict[str, str]]:  # fmt: skip
    when = max(ds.center_time for ds in plan.reads["image"].datasets)
    results = {
        key: ResultRaster(result_product_name(f"buildings_{key}", ctx.job_id), raster.bands[0], raster, when, description)
        for key, raster, description in (
            ("mask", rasters.mask, f"Building mask (1 building, 0 background) by model {plan.card.id}"),
            ("probability", rasters.probability, f"Building probability in percent by model {plan.card.id}"))
    }  # fmt: skip
    published = publish_rasters(ctx, list(results.values()), lineage=lineage)
    return {
        key: {"product": p.product, **p.links} for key, p in zip(results, published, strict=True)
    }


def _publish_footprints(plan: SegmentationPlan, footprints: list[Footprint], ctx: JobContext) -> dict[str, str]:  # fmt: skip
    folder, base = outputs_dir(ctx), f"{ctx.settings.base_url}/jobs/{ctx.job_id}/outputs"
    crs = plan.grid.crs.to_wkt()
    write_footprints(footprints, crs, geojson=folder / "footprints.geojson", geoparquet=folder / "footprints.parquet",
                     properties={"model": plan.card.id, "job": ctx.job_id})  # fmt: skip
    layer = result_product_name("buildings", ctx.job_id) + "_footprints"
    ctx.services.jobs.add_results(ctx.job_id, [layer])
    ctx.cube.vectors.upsert_layer_features(layer, footprints_wgs84(footprints, crs), replace=True,
                                           title=f"Building footprints by model {plan.card.id}",
                                           description=f"Regularised footprints from job {ctx.job_id}")  # fmt: skip
    return {"geojson": f"{base}/footprints.geojson", "geoparquet": f"{base}/footprints.parquet",
            "features": f"{ctx.settings.base_url}/collections/{layer}/items", "features_collection": layer}  # fmt: skip


def _table(plan: SegmentationPlan, footprints: list[Footprint]) -> SummaryTable:
    units = [to_crs(u.geometry, plan.grid.crs) for u in plan.region.units]
    counts, areas = count_per_unit(footprints, units)
    when = max(ds.center_time for ds in plan.reads["image"].datasets)
    return SummaryTable(
        indicator="buildings", series="BUILDING_COUNT", unit_measure="NUMBER", value_field="building_count",
        time_period=str(when.year),
        rows=ix.unit_rows(plan.region, {"building_count": counts, "footprint_area_m2": np.round(areas, 2)}),
    )  # fmt: skip


def run_segmentation(
    process: BuildingSegmentation, plan: SegmentationPlan, ctx: JobContext
) -> ProcessResult:
    ctx.progress(2, f"loading model {plan.card.id}")
    rasters = _segment(plan, ctx)
    footprints = _footprints(plan, rasters.mask.path, ctx)
    ctx.progress(80, "registering the rasters in the cube")
    lineage = ix.lineage(process.process_id, plan.inputs, list(plan.reads.values())) | {
        "sdgcube:model": plan.card.id
    }
    published = _register(plan, rasters, ctx, lineage)
    ctx.progress(88, "publishing the footprints")
    links = _publish_footprints(plan, footprints, ctx)
    summary = publish_summary(ctx, _table(plan, footprints), plan.region, prefix=process.prefix)
    document: dict[str, Any] = {
        "indicator": "buildings", "model": plan.card.id, "collections": {k: v["product"] for k, v in published.items()},
        "links": published, "footprints": {"count": len(footprints), **links}, "summary": summary,
        "total": {"building_count": len(footprints),
                  "footprint_area_m2": round(sum(f.area_m2 for f in footprints), 2)},
    }  # fmt: skip
    if rasters.confusion is not None:
        metrics = segmentation_metrics(rasters.confusion)
        folder = outputs_dir(ctx)
        write_metric_table(
            plan.card.id,
            metrics,
            json_path=folder / "metrics.json",
            csv_path=folder / "metrics.csv",
        )
        document["metrics"] = {"percent": metrics.as_percent(), "pixels": metrics.pixels,
                               "json": f"{ctx.settings.base_url}/jobs/{ctx.job_id}/outputs/metrics.json",
                               "csv": f"{ctx.settings.base_url}/jobs/{ctx.job_id}/outputs/metrics.csv"}  # fmt: skip
    return ProcessResult(
        document=document, products=tuple(v["product"] for v in published.values())
    )
