"""A product's infinite pixel grid, so that windows are named by (row, col) whatever the area.

Pixel (row, col) has its top-left corner at (align_x + col · res_x, align_y − row · res_y) in the
grid's CRS: indices count from the grid's alignment point, not from any dataset or request, which
is what lets a window stand at the same place for every request (``sdgcube.models.windows``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from odc.geo.crs import CRS
from odc.geo.geobox import GeoBox
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.cube import NativeGrid
from sdgcube.models.windows import Area

__all__ = ["PixelGrid"]


@dataclass(frozen=True)
class PixelGrid:
    crs: CRS
    res_x: float
    res_y: float
    align_x: float
    align_y: float

    @classmethod
    def of(cls, grid: NativeGrid) -> PixelGrid:
        return cls(grid.crs, grid.res_x, grid.res_y, grid.align_x, grid.align_y)

    def transform(self, area: Area) -> Affine:
        return Affine(self.res_x, 0.0, self.align_x + area.col * self.res_x,
                      0.0, -self.res_y, self.align_y - area.row * self.res_y)  # fmt: skip

    def geobox(self, area: Area) -> GeoBox:
        return GeoBox((area.rows, area.cols), self.transform(area), self.crs)

    def area_of(self, geometry: BaseGeometry) -> Area:
        """The smallest block of pixels covering ``geometry`` (in this grid's CRS)."""
        minx, miny, maxx, maxy = geometry.bounds
        col0 = math.floor((minx - self.align_x) / self.res_x)
        col1 = math.ceil((maxx - self.align_x) / self.res_x)
        row0 = math.floor((self.align_y - maxy) / self.res_y)
        row1 = math.ceil((self.align_y - miny) / self.res_y)
        return Area(row0, col0, max(row1 - row0, 1), max(col1 - col0, 1))
