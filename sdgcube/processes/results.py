"""Publishing what a process computed: GeoTIFFs ingested into the cube as result products.

Results go through the same ingest path as user files (COG conversion, STAC item, index), so they
are immediately coverages, tiles and map layers like any other product. The workers write each
raster window by window into a tiled GeoTIFF in the job's folder (``result_files``); the job then
converts them to COGs in parallel and registers them in one index transaction. Result documents name
them by URL — the collection and the STAC item as the server serves them — never by server path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dask.array as da
import rasterio
import xarray as xr

from sdgcube.datacube.ingest import DatasetLineage, IngestRequest, ingest_rasters, inspect_raster
from sdgcube.processes.blockwise import TiledRaster, create_tiled, write_blocks
from sdgcube.processes.context import JobContext
from sdgcube.settings import Settings

__all__ = [
    "Published",
    "ResultRaster",
    "publish_raster",
    "publish_rasters",
    "result_files",
    "result_links",
    "result_product_name",
    "software_version",
]

_WORKERS = 4
_GDAL_CACHE_BYTES = 128 * 2**20
"""Threads writing and converting a job's rasters (GDAL releases the GIL while it works)."""


def software_version() -> str:
    return f"sdgcube {version('sdgcube')}"


def result_product_name(prefix: str, job_id: str) -> str:
    """A product name unique to the job: ``<prefix>_<first 8 hex digits of the job id>``."""
    return f"{prefix}_{job_id.replace('-', '')[:8]}"


@dataclass(frozen=True)
class ResultRaster:
    """One written single-band raster to register as the one dataset of a new product; NaN is nodata."""

    product: str
    band: str
    file: TiledRaster
    when: datetime
    description: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    """STAC properties of this raster alone, over the job's lineage (e.g. which part of a result)."""


@dataclass(frozen=True)
class Published:
    """A registered result: its product and dataset, and the URLs that serve them."""

    product: str
    dataset_id: str
    links: dict[str, str]
    """``collection`` (OGC API collection) and ``stac_item`` (the item in the server's STAC browser)."""


def result_links(settings: Settings, product: str, item_path: Path) -> dict[str, str]:
    """URLs of a registered dataset: its collection, and its STAC item under ``/stac/archive``
    (pygeoapi's FileSystem STAC provider serves the archive folder as resource ``archive``)."""
    item = item_path.resolve().relative_to(settings.archive_dir.resolve()).as_posix()
    return {"collection": f"{settings.base_url}/collections/{product}",
            "stac_item": f"{settings.base_url}/stac/archive/{item}"}  # fmt: skip


def result_files(
    ctx: JobContext, rasters: Mapping[str, xr.DataArray]
) -> tuple[dict[str, TiledRaster], da.Array]:
    """An empty tiled GeoTIFF in the job's folder for each lazy 2-D raster (by product name, band =
    product), and the lazy per-block writes that fill them (``write_blocks``)."""
    files = {product: create_tiled(ctx.work_dir / f"{product}.tif", array.odc.geobox, [str(array.name or product)])
             for product, array in rasters.items()}  # fmt: skip
    writes = write_blocks({files[p]: [array] for p, array in rasters.items()}, ctx.locks)
    return files, writes


def publish_rasters(
    ctx: JobContext, rasters: Sequence[ResultRaster], *, lineage: Mapping[str, Any]
) -> list[Published]:
    """Register each raster as the one dataset of its product, in one index transaction."""

    def prepare(raster: ResultRaster) -> IngestRequest:
        path = raster.file.path
        # The GeoTIFF written here is temporary: the job, not the file, is where the dataset came from.
        properties = {"sdgcube:source": f"job {ctx.job_id}", "sdgcube:job": ctx.job_id,
                      "sdgcube:software": software_version(), **lineage, **raster.properties}  # fmt: skip
        return IngestRequest(inspect_raster(path), raster.product, raster.when,
                             DatasetLineage(description=raster.description, properties=properties))  # fmt: skip

    # Recorded first: from the moment it is indexed, a result is as visible as its job, no more.
    ctx.services.jobs.add_results(ctx.job_id, [raster.product for raster in rasters])
    # GDAL's block cache (5 % of the machine's memory by default) would otherwise fill with the
    # blocks of country-sized rasters read and converted here, on a worker that runs other tasks.
    with (
        rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_BYTES),
        ThreadPoolExecutor(max_workers=_WORKERS) as pool,
    ):
        requests = list(pool.map(prepare, rasters))
        results = ingest_rasters(ctx.cube.dc, ctx.settings.archive_dir, requests, workers=_WORKERS)
    return [
        Published(r.product, r.dataset_id, result_links(ctx.settings, r.product, r.item_path))
        for r in results
    ]


def publish_raster(
    ctx: JobContext,
    file: TiledRaster,
    *,
    product: str,
    when: datetime,
    description: str,
    lineage: dict[str, Any],
) -> Published:
    """Register one written raster as the one dataset of ``product``; NaN is nodata."""
    (published,) = publish_rasters(
        ctx, [ResultRaster(product, file.bands[0], file, when, description)], lineage=lineage
    )
    return published
