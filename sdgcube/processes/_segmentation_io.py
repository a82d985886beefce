"""Reading image blocks from the cube and writing result rasters block by block, for segmentation.

Neither side ever holds a whole area: the reader loads one block of the product's pixel grid from
the datasets that touch it, and the writers put each block into a tiled GeoTIFF as it comes
(written under a temporary name, renamed when complete).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt
import rasterio
from datacube.model import Dataset
from rasterio.windows import Window

from sdgcube.datacube.cube import Cube
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.windows import Area

__all__ = ["CubeBlockReader", "RasterBlockWriter"]


class CubeBlockReader:
    """(band, rows, cols) float32 stored values of a block, NaN where no dataset has data; where
    datasets overlap, the latest valid value wins."""

    def __init__(self, cube: Cube, product: str, bands: Sequence[str], grid: PixelGrid,
                 datasets: Sequence[Dataset]) -> None:  # fmt: skip
        self.cube, self.product, self.bands, self.grid = cube, product, tuple(bands), grid
        self._datasets = [(ds, ds.extent.to_crs(grid.crs)) for ds in datasets]

    def _touching(self, area: Area) -> list[Dataset]:
        box = self.grid.geobox(area).extent
        return [ds for ds, extent in self._datasets if extent.intersects(box)]

    def __call__(self, area: Area) -> npt.NDArray[np.float32]:
        out = np.full((len(self.bands), area.rows, area.cols), np.nan, np.float32)
        touching = self._touching(area)
        if not touching:
            return out
        data = self.cube.load(self.product, datasets=touching, geobox=self.grid.geobox(area),
                              measurements=list(self.bands), chunks=None, mask_nodata=True)  # fmt: skip
        stack = np.stack([data[b].values.astype(np.float32) for b in self.bands], axis=1)
        for values in stack:  # (time, band, y, x), oldest first: later valid pixels overwrite
            valid = ~np.isnan(values).any(axis=0)
            out[:, valid] = values[:, valid]
        return out


class RasterBlockWriter:
    """A single-band tiled GeoTIFF over ``area`` of ``grid``, filled block by block."""

    def __init__(self, path: Path, grid: PixelGrid, area: Area, *, dtype: str, nodata: float,
                 band: str) -> None:  # fmt: skip
        self.path, self.area = path, area
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._profile = {"driver": "GTiff", "width": area.cols, "height": area.rows, "count": 1,
                         "dtype": dtype, "nodata": nodata, "crs": grid.crs.to_wkt(),
                         "transform": grid.transform(area), "tiled": True, "blockxsize": 512,
                         "blockysize": 512, "compress": "deflate", "BIGTIFF": "IF_SAFER"}  # fmt: skip
        self._band = band
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._dst = self._stack.enter_context(rasterio.open(self._tmp, "w", **self._profile))
        self._dst.set_band_description(1, self._band)
        return self

    def write(self, block: Area, values: npt.NDArray[np.generic]) -> None:
        top, left = block.row - self.area.row, block.col - self.area.col
        self._dst.write(values, 1, window=Window(left, top, block.cols, block.rows))  # type: ignore[no-untyped-call]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self._stack.close()
        if kind is None:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)
