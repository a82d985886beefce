"""Publishing what a process computed: a GeoTIFF ingested into the cube as a result product.

Results go through the same ingest path as user files (COG conversion, STAC item, one index
transaction), so they are immediately coverages, tiles and map layers like any other product.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr

from sdgcube.datacube.cog import atomic_path
from sdgcube.datacube.ingest import DatasetLineage, IngestResult, ingest_file
from sdgcube.processes.context import JobContext

__all__ = ["publish_raster", "result_product_name", "software_version"]


def software_version() -> str:
    return f"sdgcube {version('sdgcube')}"


def result_product_name(prefix: str, job_id: str) -> str:
    """A product name unique to the job: ``<prefix>_<first 8 hex digits of the job id>``."""
    return f"{prefix}_{job_id.replace('-', '')[:8]}"


def _write_geotiff(array: xr.DataArray, path: Path, band_name: str, nodata: float) -> None:
    geobox = array.odc.geobox
    values = np.asarray(array.values)
    profile = {
        "driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
        "dtype": values.dtype, "crs": geobox.crs.to_wkt(), "transform": geobox.affine, "nodata": nodata,
        "tiled": True, "compress": "deflate",
    }  # fmt: skip
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(values, 1)
        dst.set_band_description(1, band_name)


def publish_raster(
    ctx: JobContext,
    array: xr.DataArray,
    *,
    product: str,
    band_name: str,
    when: datetime,
    description: str,
    lineage: dict[str, Any],
) -> IngestResult:
    """Ingest a computed 2-D (y, x) array as one dataset of ``product``; NaN is nodata."""
    path = ctx.work_dir / f"{product}.tif"
    _write_geotiff(array.astype("float32"), path, band_name, nodata=float("nan"))
    # The GeoTIFF written here is temporary: the job, not the file, is where the dataset came from.
    properties = {"sdgcube:source": f"job {ctx.job_id}", "sdgcube:job": ctx.job_id,
                  "sdgcube:software": software_version(), **lineage}  # fmt: skip
    return ingest_file(
        ctx.cube.dc,
        ctx.settings.archive_dir,
        path,
        product=product,
        when=when,
        lineage=DatasetLineage(description=description, properties=properties),
    )
