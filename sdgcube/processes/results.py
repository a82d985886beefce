"""Publishing what a process computed: GeoTIFFs ingested into the cube as result products.

Results go through the same ingest path as user files (COG conversion, STAC item, index), so they
are immediately coverages, tiles and map layers like any other product. All rasters of a job are
written and converted in parallel and registered in one index transaction. Result documents name
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

import numpy as np
import rasterio
import xarray as xr

from sdgcube.datacube.cog import atomic_path
from sdgcube.datacube.ingest import DatasetLineage, IngestRequest, ingest_rasters, inspect_raster
from sdgcube.processes.context import JobContext
from sdgcube.settings import Settings

__all__ = [
    "Published",
    "ResultRaster",
    "publish_raster",
    "publish_rasters",
    "result_links",
    "result_product_name",
    "software_version",
]

_WORKERS = 4
"""Threads writing and converting a job's rasters (GDAL releases the GIL while it works)."""


def software_version() -> str:
    return f"sdgcube {version('sdgcube')}"


def result_product_name(prefix: str, job_id: str) -> str:
    """A product name unique to the job: ``<prefix>_<first 8 hex digits of the job id>``."""
    return f"{prefix}_{job_id.replace('-', '')[:8]}"


@dataclass(frozen=True)
class ResultRaster:
    """One computed 2-D (y, x) raster to register as the one dataset of a new product; NaN is nodata."""

    product: str
    band: str
    array: xr.DataArray
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


def _write_geotiff(raster: ResultRaster, path: Path) -> Path:
    values = np.asarray(raster.array.astype("float32").values)
    geobox = raster.array.odc.geobox
    profile = {
        "driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
        "dtype": values.dtype, "crs": geobox.crs.to_wkt(), "transform": geobox.affine, "nodata": float("nan"),
        "tiled": True, "compress": "deflate",
    }  # fmt: skip
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(values, 1)
        dst.set_band_description(1, raster.band)
    return path


def publish_rasters(
    ctx: JobContext, rasters: Sequence[ResultRaster], *, lineage: Mapping[str, Any]
) -> list[Published]:
    """Register each raster as the one dataset of its product, in one index transaction."""

    def prepare(raster: ResultRaster) -> IngestRequest:
        path = _write_geotiff(raster, ctx.work_dir / f"{raster.product}.tif")
        # The GeoTIFF written here is temporary: the job, not the file, is where the dataset came from.
        properties = {"sdgcube:source": f"job {ctx.job_id}", "sdgcube:job": ctx.job_id,
                      "sdgcube:software": software_version(), **lineage, **raster.properties}  # fmt: skip
        return IngestRequest(inspect_raster(path), raster.product, raster.when,
                             DatasetLineage(description=raster.description, properties=properties))  # fmt: skip

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        requests = list(pool.map(prepare, rasters))
    results = ingest_rasters(ctx.cube.dc, ctx.settings.archive_dir, requests, workers=_WORKERS)
    return [
        Published(r.product, r.dataset_id, result_links(ctx.settings, r.product, r.item_path))
        for r in results
    ]


def publish_raster(
    ctx: JobContext,
    array: xr.DataArray,
    *,
    product: str,
    band_name: str,
    when: datetime,
    description: str,
    lineage: dict[str, Any],
) -> Published:
    """Register one computed 2-D (y, x) array as the one dataset of ``product``; NaN is nodata."""
    (published,) = publish_rasters(
        ctx, [ResultRaster(product, band_name, array, when, description)], lineage=lineage
    )
    return published
