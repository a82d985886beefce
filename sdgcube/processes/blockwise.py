"""Rasters written window by window by the Dask task that computed the window, and read back lazily.

A job's results and its intermediate layers never pass whole through one process: each spatial
block of a lazy raster writes its own window of a tiled GeoTIFF in the job's folder (on the volume
the workers share), under a lock per file, since a GeoTIFF takes one writer at a time. Blocks of
1024² pixels are a multiple of the 512² tiles, so no tile is written twice.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from dask.delayed import Delayed, delayed
from odc.geo.geobox import GeoBox
from odc.geo.xr import wrap_xr
from rasterio.windows import Window

__all__ = [
    "BLOCK",
    "Locks",
    "TiledRaster",
    "block_side",
    "create_tiled",
    "read_tiled",
    "write_blocks",
]

BLOCK = 1024
"""Side of a spatial block in pixels, up to 16 384 blocks; larger areas get larger blocks."""
_MAX_BLOCKS = 16_384
_TILE = 512

Locks = Callable[[str], AbstractContextManager[Any]]
"""A lock by name, held by one task of the whole cluster at a time (picklable)."""


def block_side(shape: Sequence[int]) -> int:
    """The spatial block side for a grid: 1024 px, doubled until the grid has at most 16 384 blocks
    (the task graph stays bounded while a block's memory stays flat)."""
    side = BLOCK
    while math.ceil(shape[-2] / side) * math.ceil(shape[-1] / side) > _MAX_BLOCKS:
        side *= 2
    return side


@dataclass(frozen=True)
class TiledRaster:
    """A tiled GeoTIFF, one band per name, on a grid of ``shape`` pixels."""

    path: Path
    bands: tuple[str, ...]
    shape: tuple[int, int]
    dtype: str = "float32"
    nodata: float = float("nan")

    def write(self, values: np.ndarray, top: int, left: int) -> None:
        """Write (bands, rows, cols) ``values`` at pixel ``top``, ``left``."""
        window = Window(left, top, values.shape[-1], values.shape[-2])  # type: ignore[no-untyped-call]
        with rasterio.open(self.path, "r+") as dst:
            dst.write(values.astype(self.dtype, copy=False), window=window)

    def read(self, band: int, rows: slice, cols: slice) -> np.ndarray:
        """Band ``band`` (0-based) over the pixel ``rows`` and ``cols``."""
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)  # type: ignore[no-untyped-call]
        with rasterio.open(self.path) as src:
            return np.asarray(src.read(band + 1, window=window))


def create_tiled(
    path: Path,
    geobox: GeoBox,
    bands: Sequence[str],
    *,
    dtype: str = "float32",
    nodata: float = float("nan"),
) -> TiledRaster:
    """An empty tiled GeoTIFF on ``geobox``: tiles are written as blocks arrive (deflate, BigTIFF
    when needed); a tile never written reads as ``nodata``."""
    assert geobox.crs is not None
    height, width = geobox.shape
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": len(bands), "dtype": dtype,
        "crs": geobox.crs.to_wkt(), "transform": geobox.affine, "nodata": nodata, "tiled": True,
        "blockxsize": _TILE, "blockysize": _TILE, "compress": "deflate", "zlevel": 1, "BIGTIFF": "IF_SAFER",
        "interleave": "band", "sparse_ok": True,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        for i, band in enumerate(bands, start=1):
            dst.set_band_description(i, band)
    return TiledRaster(path, tuple(bands), (height, width), dtype, nodata)


def _dask_2d(array: xr.DataArray, side: int) -> da.Array:
    data = array.data if isinstance(array.data, da.Array) else da.from_array(np.asarray(array.data))
    return data.rechunk((side, side))


def write_blocks(files: Mapping[TiledRaster, Sequence[xr.DataArray]], locks: Locks) -> da.Array:
    """A lazy (blocks_y, blocks_x) int64 array: computing block (i, j) computes window (i, j) of
    every file's bands (2-D arrays on the files' grid) and writes it; its value is the pixel count."""
    rasters = [(raster, i) for raster, arrays in files.items() for i in range(len(arrays))]
    sources = [array for arrays in files.values() for array in arrays]
    side = block_side(sources[0].shape)
    blocks = [_dask_2d(array, side) for array in sources]
    n_y, n_x = blocks[0].numblocks

    def write(*values: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (top, _), (left, _) = block_info[0]["array-location"]
        for raster in files:
            stack = np.stack([v for (r, _), v in zip(rasters, values, strict=True) if r == raster])
            with locks(str(raster.path)):
                raster.write(stack, top, left)
        return np.full((1, 1), values[0].size, dtype=np.int64)

    return da.map_blocks(write, *blocks, chunks=((1,) * n_y, (1,) * n_x), dtype=np.int64)


class _Windows:
    """One band of a TiledRaster as the array-like ``da.from_array`` reads window by window."""

    def __init__(self, raster: TiledRaster, band: int) -> None:
        self.raster, self.band = raster, band
        self.shape, self.dtype, self.ndim = raster.shape, np.dtype(raster.dtype), 2

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = (range(n)[k] for n, k in zip(self.shape, key, strict=True))
        return self.raster.read(
            self.band, slice(rows.start, rows.stop), slice(cols.start, cols.stop)
        )


def read_tiled(raster: TiledRaster, geobox: GeoBox) -> dict[str, xr.DataArray]:
    """Each band as a lazy (y, x) DataArray on ``geobox``, one task per block."""
    side = block_side(raster.shape)
    return {
        name: wrap_xr(
            da.from_array(_Windows(raster, i), chunks=(side, side), name=f"tiled-{raster.path}-{i}",
                          lock=False, asarray=True, meta=np.empty((0, 0), raster.dtype)),
            geobox,
        ).rename(name)
        for i, name in enumerate(raster.bands)
    }  # fmt: skip


def blocks_of(*arrays: da.Array) -> list[tuple[Delayed, ...]]:
    """The blocks of equally chunked arrays, as delayed values, block by block (row-major)."""
    delayed_blocks = [array.to_delayed().ravel() for array in arrays]
    return list(zip(*delayed_blocks, strict=True))


def tree_sum(parts: Sequence[Any]) -> Delayed:
    """``+`` over delayed parts, pairwise in a tree (log₂ n levels, two parts per task)."""
    level = list(parts)
    while len(level) > 1:
        pairs = [delayed(operator.add)(a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
        level = pairs + level[len(pairs) * 2 :]
    return delayed(level[0])
