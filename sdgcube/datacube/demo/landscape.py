"""The static layout of the demo island: where the forest, rangeland, lake, town and planted events
are. Shapes are analytic (discs, ellipses, rectangles) in pixel units so that their polygons and
their pixel masks describe the same ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from scipy.ndimage import binary_erosion, gaussian_filter
from shapely import affinity, contains_xy
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

__all__ = ["CRS", "GRIDS", "PIXEL_SIZE", "DemoGrid", "Landscape", "make_landscape"]

CRS = "EPSG:32760"  # UTM zone 60 S, a small island in the south-west Pacific
PIXEL_SIZE = 30.0
_CENTRE = (600_000.0, 8_050_000.0)


@dataclass(frozen=True)
class DemoGrid:
    """A square grid of ``size`` 30 m pixels centred on the island."""

    size: int

    @property
    def transform(self) -> Affine:
        half = self.size * PIXEL_SIZE / 2
        return Affine(PIXEL_SIZE, 0, _CENTRE[0] - half, 0, -PIXEL_SIZE, _CENTRE[1] + half)

    @property
    def shape(self) -> tuple[int, int]:
        return self.size, self.size


GRIDS = {"small": DemoGrid(200), "medium": DemoGrid(800), "large": DemoGrid(2048)}


@dataclass(frozen=True)
class Landscape:
    """Boolean masks (y, x) of the island's zones and the pixel-unit shapes behind the planted ones."""

    grid: DemoGrid
    land: np.ndarray
    coast: np.ndarray
    forest: np.ndarray
    rangeland: np.ndarray
    cropland: np.ndarray
    deforested: np.ndarray
    burn_core: np.ndarray
    burn_ring: np.ndarray
    lake_full: np.ndarray
    relief: np.ndarray
    """Smooth field in [-1, 1] that varies NDVI and SOC spatially."""
    shapes: dict[str, BaseGeometry]
    """Planted-event shapes in pixel coordinates (x = column, y = row)."""

    def lake_disc(self, radius_fraction: float) -> np.ndarray:
        return _inside(
            _disc(self.shapes["lake"].centroid, self.lake_radius * radius_fraction), self.grid
        )

    @property
    def lake_radius(self) -> float:
        return (self.shapes["lake"].area / np.pi) ** 0.5

    def town(self, radius: float) -> np.ndarray:
        """Built-up land for a town disc of ``radius`` pixels."""
        disc = _inside(_disc(self.shapes["town"].centroid, radius), self.grid)
        return disc & self.land & ~self.lake_full & ~self.rangeland & ~self.coast


def _disc(centre: Point, radius: float) -> BaseGeometry:
    return centre.buffer(radius, resolution=64)


def _pixel_centres(grid: DemoGrid) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0 : grid.size, 0 : grid.size]
    return cols + 0.5, rows + 0.5


def _inside(shape: BaseGeometry, grid: DemoGrid) -> np.ndarray:
    """Pixels whose centre lies inside ``shape`` (pixel coordinates)."""
    x, y = _pixel_centres(grid)
    return contains_xy(shape, x, y)


def _island(grid: DemoGrid, rng: np.random.Generator) -> Polygon:
    n = grid.size
    phase = rng.uniform(0, 2 * np.pi, size=2)
    theta = np.linspace(0, 2 * np.pi, 361)[:-1]
    radius = (
        0.42 * n * (1 + 0.07 * np.sin(3 * theta + phase[0]) + 0.04 * np.sin(5 * theta + phase[1]))
    )
    return Polygon(np.c_[n / 2 + radius * np.cos(theta), n / 2 + radius * np.sin(theta)])


def make_landscape(grid: DemoGrid, rng: np.random.Generator) -> Landscape:
    n = grid.size
    island = _island(grid, rng)
    land = _inside(island, grid)
    coast = land & ~binary_erosion(land, iterations=2)
    shapes: dict[str, BaseGeometry] = {
        "island": island,
        "lake": _disc(Point(0.38 * n, 0.40 * n), 0.07 * n),
        "forest": _disc(Point(0.62 * n, 0.36 * n), 0.22 * n),
        "rangeland": _disc(Point(0.35 * n, 0.68 * n), 0.12 * n),
        "deforestation": box(0.58 * n, 0.24 * n, 0.70 * n, 0.33 * n),
        "burn_scar": affinity.scale(
            Point(0.70 * n, 0.50 * n).buffer(1.0, resolution=64), 0.07 * n, 0.045 * n
        ),
        "town": _disc(Point(0.62 * n, 0.72 * n), 0.10 * n),
    }
    shapes["burn_core"] = affinity.scale(shapes["burn_scar"], 0.6, 0.6)
    masks = {name: _inside(shape, grid) & land for name, shape in shapes.items()}
    lake = masks["lake"]
    forest = masks["forest"] & ~lake & ~coast
    relief = gaussian_filter(rng.standard_normal((n, n)), sigma=max(n / 40, 1.5))
    relief /= np.abs(relief).max()
    return Landscape(
        grid=grid,
        land=land,
        coast=coast,
        forest=forest & ~masks["deforestation"],
        rangeland=masks["rangeland"] & ~coast,
        cropland=land
        & ~coast
        & ~forest
        & ~masks["rangeland"]
        & ~lake
        & (_pixel_centres(grid)[1] > 0.55 * n),
        deforested=masks["deforestation"] & forest,
        burn_core=masks["burn_core"] & forest,
        burn_ring=masks["burn_scar"] & ~masks["burn_core"] & forest,
        lake_full=lake,
        relief=relief,
        shapes=shapes,
    )
