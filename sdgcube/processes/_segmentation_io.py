"""Reading image blocks from the cube for segmentation: one block of the product's pixel grid at a
time, from the datasets that touch it, so no step holds a whole area."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from datacube.model import Dataset

from sdgcube.datacube.cube import Cube
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.windows import Area

__all__ = ["CubeBlockReader"]


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
