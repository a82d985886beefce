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
    """Pixel indices over a product's native grid (its CRS, pixel size and alignment)."""

    native: NativeGrid

    @classmethod
    def of(cls, grid: NativeGrid) -> PixelGrid:
        return cls(grid)

    @property
    def crs(self) -> CRS:
        return self.native.crs

    def transform(self, area: Area) -> Affine:
        g = self.native
        return Affine(g.res_x, 0.0, g.align_x + area.col * g.res_x, 0.0, -g.res_y, g.align_y - area.row * g.res_y)  # fmt: skip

    def geobox(self, area: Area) -> GeoBox:
        return GeoBox((area.rows, area.cols), self.transform(area), self.crs)

    def area_of(self, geometry: BaseGeometry) -> Area:
        """The smallest block of pixels covering ``geometry`` (in this grid's CRS)."""
        minx, miny, maxx, maxy = geometry.bounds
        g = self.native
        col0, col1 = (
            math.floor((minx - g.align_x) / g.res_x),
            math.ceil((maxx - g.align_x) / g.res_x),
        )
        row0, row1 = (
            math.floor((g.align_y - maxy) / g.res_y),
            math.ceil((g.align_y - miny) / g.res_y),
        )
        return Area(row0, col0, max(row1 - row0, 1), max(col1 - col0, 1))
