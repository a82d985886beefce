"""Reading image blocks from the cube for segmentation: one block of the product's pixel grid at a
time, from the datasets that touch it, so no step holds a whole area."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from datacube.drivers import new_datasource
from datacube.model import Dataset
from datacube.storage import BandInfo, DataSource, reproject_and_fuse
from rasterio.features import geometry_mask

from sdgcube.datacube.cube import Cube
from sdgcube.models.inference import BlockReader, Segmenter
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.windows import Area

__all__ = ["NODATA", "ClassifiedBlock", "CubeBlockReader", "classified_blocks"]

NODATA = 255
"""Of both rasters: the mask (0 background, 1 building) and the probability (percent, 0–100)."""


class CubeBlockReader:
    """(band, rows, cols) float32 stored values of a block, NaN where no dataset has data; where
    datasets overlap, the latest dataset valid in every band wins.

    Reads go through ODC's own reader (``reproject_and_fuse``: windowed reads on the dataset's
    grid, warping when its grid differs) with each dataset's band sources made once: ``Datacube.load``
    rebuilds them from the dataset documents on every call (about 8 ms a band), which cost more
    than the pixels when an area is read one row of windows at a time."""

    def __init__(self, cube: Cube, product: str, bands: Sequence[str], grid: PixelGrid,
                 datasets: Sequence[Dataset]) -> None:  # fmt: skip
        self.product, self.bands, self.grid = product, tuple(bands), grid
        self._names = cube.bands(product).select(list(self.bands))
        self._datasets = [(ds, grid.area_of(ds.extent.to_crs(grid.crs).geom)) for ds in datasets]
        self._sources: dict[int, tuple[DataSource, ...]] = {}  # by position in ``datasets``

    def _band_sources(self, index: int) -> tuple[DataSource, ...]:
        if index not in self._sources:
            dataset = self._datasets[index][0]
            self._sources[index] = tuple(new_datasource(BandInfo(dataset, b.name)) for b in self._names)  # fmt: skip
        return self._sources[index]

    def __call__(self, area: Area) -> npt.NDArray[np.float32]:
        out = np.full((len(self.bands), area.rows, area.cols), np.nan, np.float32)
        for index, (_, footprint) in enumerate(
            self._datasets
        ):  # oldest first: later ones overwrite
            part = footprint.overlap(area)
            if part is None:
                continue
            geobox = self.grid.geobox(part)
            values = np.stack([
                reproject_and_fuse([source], np.empty(geobox.shape, np.float32), geobox, np.nan)
                for source in self._band_sources(index)
            ])  # fmt: skip
            valid = ~np.isnan(values).any(axis=0)
            out[(slice(None), *part.slices_in(area))][:, valid] = values[:, valid]
        return out


@dataclass(frozen=True)
class ClassifiedBlock:
    """One block of the area, as the mask and probability rasters store it."""

    area: Area
    outside: npt.NDArray[np.bool_]
    """Outside the requested region, or no image data."""
    mask: npt.NDArray[np.uint8]
    """1 building, 0 background, NODATA outside."""
    percent: npt.NDArray[np.uint8]
    """Building probability in percent, NODATA outside."""


def classified_blocks(segmenter: Segmenter, area: Area, read: BlockReader, grid: PixelGrid,
                      region: list[dict[str, Any]], threshold: float) -> Iterator[ClassifiedBlock]:  # fmt: skip
    """The segmenter's probability blocks over ``area``, thresholded and clipped to ``region``
    (GeoJSON geometries in the grid's CRS)."""
    for block, values in segmenter.probability(area, read):
        outside = geometry_mask(region, (block.rows, block.cols), grid.transform(block)) | np.isnan(values)  # fmt: skip
        mask = np.where(outside, NODATA, values > threshold).astype(np.uint8)
        percent = np.where(outside, NODATA, np.round(np.nan_to_num(values) * 100)).astype(np.uint8)
        yield ClassifiedBlock(block, outside, mask, percent)
