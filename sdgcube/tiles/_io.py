"""Reading one registered file over one area, safely and only where the file has data.

An *area* is bounds in a CRS and an output size in pixels. Reads are clipped to the file's extent on
the area's own pixel grid and padded back, masked: asking GDAL for a world-wide tile over a small
raster takes minutes, its footprint of a few pixels milliseconds. Files are opened only with raster
drivers that cannot refer to other files, so not even a registered asset can smuggle in a VRT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from sdgcube.datacube.bands import Band
from sdgcube.errors import InvalidRequest
from sdgcube.tiles.catalog import BBox

__all__ = [
    "ALLOWED_DRIVERS",
    "Area",
    "as_band_types",
    "buffered",
    "clip",
    "open_asset",
    "read_clipped",
    "unscale",
]  # fmt: skip

ALLOWED_DRIVERS = ("GTiff", "JP2OpenJPEG", "netCDF")
"""Raster formats of registered assets; VRT and other formats that reference files are excluded."""


@dataclass(frozen=True)
class Area:
    """Bounds in a CRS, and the output size in pixels: what every read asks for."""

    bounds: BBox
    crs: CRS
    width: int
    height: int

    def __post_init__(self) -> None:
        left, bottom, right, top = self.bounds
        if self.width < 1 or self.height < 1:
            raise InvalidRequest(
                f"image size {self.width}×{self.height} must be at least 1×1 pixel"
            )
        if not (all(map(math.isfinite, self.bounds)) and left < right and bottom < top):
            raise InvalidRequest(
                f"bounds {self.bounds} must be finite with min below max on both axes"
            )


def open_asset(path: str) -> rasterio.DatasetReader:
    """Open a registered band file with an allowed driver only (never VRT, whatever its name).

    ``GDAL_SKIP=VRT`` cannot do this job: it only acts before GDAL registers its drivers, and then
    it breaks rasterio's own reprojection, which builds VRTs in memory."""
    for driver in ALLOWED_DRIVERS[:-1]:
        try:
            return rasterio.open(path, driver=driver)
        except RasterioIOError:
            continue
    return rasterio.open(path, driver=ALLOWED_DRIVERS[-1])


def as_band_types(img: ImageData, bands: Sequence[Band]) -> ImageData:
    """Overview values (float32, NaN for nodata) back in the bands' own types and nodata."""
    data = img.array.data
    mask = np.ma.getmaskarray(img.array) | np.isnan(data)
    dtype = np.result_type(*(np.dtype(b.dtype) for b in bands))
    values = np.where(mask, np.array([b.fill for b in bands])[:, None, None], data)
    if dtype.kind != "f":
        values = np.rint(values)
    img.array = np.ma.MaskedArray(values.astype(dtype), mask=mask)
    return img


def unscale(img: ImageData, bands: Sequence[Band]) -> None:
    """Apply the scale and offset of the product definition (e.g. 0.0001 for reflectance)."""
    scale = np.array([b.scale for b in bands], np.float32)[:, None, None]
    offset = np.array([b.offset for b in bands], np.float32)[:, None, None]
    img.array = img.array.astype(np.float32) * scale + offset


def buffered(area: Area, buffer: float | None) -> Area:
    """Grow the area by ``buffer`` pixels on each side (TiTiler's tile ``buffer``, a multiple of 0.5)."""
    if not buffer:
        return area
    if (2 * buffer) % 1:
        raise InvalidRequest(f"buffer {buffer} must be a multiple of 0.5")
    left, bottom, right, top = area.bounds
    dx, dy = buffer * (right - left) / area.width, buffer * (top - bottom) / area.height
    grown = (left - dx, bottom - dy, right + dx, top + dy)
    return Area(grown, area.crs, round(area.width + 2 * buffer), round(area.height + 2 * buffer))


def _extent_in(extent: BBox, extent_crs: str, crs: CRS) -> BBox | None:
    try:
        projected = transform_bounds(extent_crs, crs, *extent, densify_pts=21)
    except Exception:  # noqa: BLE001 - far outside a projection's area of use anything can fail
        return None
    return projected if all(math.isfinite(v) for v in projected) else None


def clip(area: Area, extent: BBox, extent_crs: str) -> tuple[Area, slice, slice]:
    """The pixels of ``area`` over ``extent`` (all of them if it cannot be projected), on the area's grid."""
    left, bottom, right, top = area.bounds
    ext = _extent_in(extent, extent_crs, area.crs) or area.bounds
    px, py = (right - left) / area.width, (top - bottom) / area.height
    c0, c1 = (
        max(0, math.floor((ext[0] - left) / px)),
        min(area.width, math.ceil((ext[2] - left) / px)),
    )
    r0, r1 = (
        max(0, math.floor((top - ext[3]) / py)),
        min(area.height, math.ceil((top - ext[1]) / py)),
    )
    if c0 >= c1 or r0 >= r1:
        raise TileOutsideBounds("the request does not meet this file")
    bounds = (left + c0 * px, top - r1 * py, left + c1 * px, top - r0 * py)
    return Area(bounds, area.crs, c1 - c0, r1 - r0), slice(r0, r1), slice(c0, c1)


def read_clipped(path: str, area: Area, extent: BBox, extent_crs: str, **options: Any) -> ImageData:
    """Read the file over ``area``: only the part within ``extent``, padded back and masked."""
    sub, rows, cols = clip(area, extent, extent_crs)
    with open_asset(path) as dataset, Reader(path, dataset=dataset) as src:
        image = src.part(sub.bounds, dst_crs=area.crs, bounds_crs=area.crs, width=sub.width,
                         height=sub.height, max_size=None, **options)  # fmt: skip
    dtype = image.array.dtype
    nodata = options.get("nodata")
    fill = nodata if nodata is not None and (dtype.kind == "f" or not math.isnan(nodata)) else 0
    full = np.ma.MaskedArray(
        np.full((image.count, area.height, area.width), fill, dtype), mask=True
    )
    full[:, rows, cols] = image.array
    return ImageData(full, bounds=area.bounds, crs=area.crs, assets=image.assets)
