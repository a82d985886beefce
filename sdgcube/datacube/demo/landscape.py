"""The static layout of the demo island: where the forest, rangeland, lake, town and planted events
are. Shapes are analytic (discs, ellipses, rectangles) in pixel units so that their polygons and
their pixel masks describe the same ground truth.

A small or medium grid is made whole; large (one window) and ``country`` window by window, each
window's shapes burnt only over their bounding boxes, its relief interpolated from a coarse field,
so that no process holds a whole 8192² stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from scipy.ndimage import binary_erosion, gaussian_filter
from shapely import affinity, contains_xy
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

__all__ = [
    "COARSENING", "CRS", "GRIDS", "PIXEL_SIZE", "DemoGrid", "Landscape", "Window", "coarse_sample",
    "island_shapes", "make_landscape",
]  # fmt: skip

CRS = "EPSG:32760"  # UTM zone 60 S, a small island in the south-west Pacific
PIXEL_SIZE = 30.0
_CENTRE = (600_000.0, 8_050_000.0)
COARSENING = 16
"""A windowed grid's smooth random fields (relief, clouds) are drawn on a grid this many times
coarser and interpolated: the same field for every window, whatever the window size."""


@dataclass(frozen=True)
class Window:
    """Rows ``row``..``row + height`` and columns ``col``..``col + width`` of a grid."""

    row: int
    col: int
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)


@dataclass(frozen=True)
class DemoGrid:
    """A square grid of ``size`` 30 m pixels centred on the island, made in windows of ``window``
    pixels a side (a multiple of the noise block) or whole when ``window`` is None."""

    size: int
    window: int | None = None

    @property
    def windowed(self) -> bool:
        return self.window is not None

    def windows(self, side: int | None = None) -> Iterator[Window]:
        step = side or self.window or self.size
        for row in range(0, self.size, step):
            for col in range(0, self.size, step):
                yield Window(row, col, min(step, self.size - row), min(step, self.size - col))

    @property
    def transform(self) -> Affine:
        half = self.size * PIXEL_SIZE / 2
        return Affine(PIXEL_SIZE, 0, _CENTRE[0] - half, 0, -PIXEL_SIZE, _CENTRE[1] + half)

    @property
    def shape(self) -> tuple[int, int]:
        return self.size, self.size


GRIDS = {
    "small": DemoGrid(200), "medium": DemoGrid(800),
    # One window: large takes the windowed grids' faster fields (its pixels changed with them).
    "large": DemoGrid(2048, window=2048), "country": DemoGrid(8192, window=2048),
}  # fmt: skip


@dataclass(frozen=True)
class Landscape:
    """Boolean masks (y, x) of the island's zones in ``window`` of the grid and the pixel-unit
    shapes behind the planted ones."""

    grid: DemoGrid
    window: Window
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

    @property
    def shape(self) -> tuple[int, int]:
        return self.window.shape

    def lake_disc(self, radius_fraction: float) -> np.ndarray:
        return _inside(
            _disc(self.shapes["lake"].centroid, self.lake_radius * radius_fraction),
            self.window,
            exact=not self.grid.windowed,
        )

    @property
    def lake_radius(self) -> float:
        return (self.shapes["lake"].area / np.pi) ** 0.5

    def town(self, radius: float) -> np.ndarray:
        """Built-up land for a town disc of ``radius`` pixels."""
        disc = _inside(
            _disc(self.shapes["town"].centroid, radius), self.window, exact=not self.grid.windowed
        )
        return disc & self.land & ~self.lake_full & ~self.rangeland & ~self.coast


def _disc(centre: Point, radius: float) -> BaseGeometry:
    return centre.buffer(radius, resolution=64)


def _inside(shape: BaseGeometry, window: Window, *, exact: bool = True) -> np.ndarray:
    """Pixels of ``window`` whose centre lies inside ``shape`` (pixel coordinates of the grid).

    Only the pixels in the shape's bounding box are tested: none outside it can be inside.
    ``exact=False`` (windowed grids) burns the shape with GDAL instead, which also decides by the
    pixel centre and is twenty times faster, but may differ on a centre lying on an edge."""
    out = np.zeros(window.shape, dtype=bool)
    minx, miny, maxx, maxy = shape.bounds
    c0, c1 = (
        max(int(np.floor(minx)), window.col),
        min(int(np.ceil(maxx)), window.col + window.width),
    )
    r0, r1 = (
        max(int(np.floor(miny)), window.row),
        min(int(np.ceil(maxy)), window.row + window.height),
    )
    if c0 >= c1 or r0 >= r1:
        return out
    if exact:
        shapely.prepare(shape)
        rows, cols = np.mgrid[r0:r1, c0:c1]
        inside = contains_xy(shape, cols + 0.5, rows + 0.5)
    else:
        moved = affinity.translate(shape, -c0, -r0)
        inside = rasterize([(moved, 1)], out_shape=(r1 - r0, c1 - c0), dtype="uint8") == 1
    out[r0 - window.row : r1 - window.row, c0 - window.col : c1 - window.col] = inside
    return out


def _linear(coords: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices either side of each coordinate and the weight of the upper one (clamped)."""
    coords = np.clip(coords, 0, size - 1)
    low = np.minimum(np.floor(coords).astype(np.intp), size - 2)
    return low, low + 1, coords - low


def coarse_sample(field: np.ndarray, window: Window, offset: int = 0) -> np.ndarray:
    """Bilinear samples of a coarse field (one value per ``COARSENING`` pixels) at the centres of
    ``window``'s pixels, moved ``offset`` pixels up and left. Element-wise arithmetic only, so a
    pixel's value does not depend on the window it is computed in."""
    rows = (np.arange(window.row, window.row + window.height) - offset + 0.5) / COARSENING - 0.5
    cols = (np.arange(window.col, window.col + window.width) - offset + 0.5) / COARSENING - 0.5
    r0, r1, fr = _linear(rows, field.shape[0])
    c0, c1, fc = _linear(cols, field.shape[1])
    # Columns first, on the few coarse rows the window needs; then rows.
    first = int(r0.min())
    band = field[first : int(r1.max()) + 1]
    across = band[:, c0] * (1 - fc) + band[:, c1] * fc
    return across[r0 - first] * (1 - fr)[:, np.newaxis] + across[r1 - first] * fr[:, np.newaxis]


def _island(grid: DemoGrid, rng: np.random.Generator) -> Polygon:
    n = grid.size
    phase = rng.uniform(0, 2 * np.pi, size=2)
    theta = np.linspace(0, 2 * np.pi, 361)[:-1]
    radius = (
        0.42 * n * (1 + 0.07 * np.sin(3 * theta + phase[0]) + 0.04 * np.sin(5 * theta + phase[1]))
    )
    return Polygon(np.c_[n / 2 + radius * np.cos(theta), n / 2 + radius * np.sin(theta)])


def island_shapes(grid: DemoGrid, rng: np.random.Generator) -> dict[str, BaseGeometry]:
    """The island and the planted-event shapes, in pixel coordinates (draws the island's phases)."""
    n = grid.size
    shapes: dict[str, BaseGeometry] = {
        "island": _island(grid, rng),
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
    return shapes


def _coast(island: BaseGeometry, grid: DemoGrid, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Land and the 2-pixel coastal strip of ``window``, eroded with a 2-pixel halo so that a
    window's strip is the whole grid's (outside the grid is sea, as at the grid's border)."""
    halo = 2
    r0, c0 = max(window.row - halo, 0), max(window.col - halo, 0)
    r1 = min(window.row + window.height + halo, grid.size)
    c1 = min(window.col + window.width + halo, grid.size)
    padded = _inside(island, Window(r0, c0, r1 - r0, c1 - c0), exact=not grid.windowed)
    before, left = window.row - r0, window.col - c0
    padded = np.pad(padded, ((halo - before, halo - (r1 - window.row - window.height)),
                             (halo - left, halo - (c1 - window.col - window.width))))  # fmt: skip
    eroded = binary_erosion(padded, iterations=2)[halo:-halo, halo:-halo]
    land = padded[halo:-halo, halo:-halo]
    return land, land & ~eroded


def _relief(grid: DemoGrid, window: Window, rng: np.random.Generator) -> np.ndarray:
    """Smooth field in [-1, 1]: the whole grid's own, or a coarse one interpolated (windowed)."""
    n = grid.size
    if not grid.windowed:
        relief = gaussian_filter(rng.standard_normal((n, n)), sigma=max(n / 40, 1.5))
        return relief / np.abs(relief).max()
    m = n // COARSENING
    coarse = gaussian_filter(rng.standard_normal((m, m)), sigma=max(m / 40, 1.5))
    # float32 halves what a window's landscape holds; the whole grids keep their float64.
    return coarse_sample(coarse / np.abs(coarse).max(), window).astype(np.float32)


def make_landscape(
    grid: DemoGrid, rng: np.random.Generator, window: Window | None = None
) -> Landscape:
    """The landscape of ``window`` (default: the whole grid); the same ``rng`` seed gives every
    window of a grid the same island."""
    n = grid.size
    window = window or Window(0, 0, n, n)
    shapes = island_shapes(grid, rng)
    land, coast = _coast(shapes["island"], grid, window)
    masks = {
        name: _inside(shape, window, exact=not grid.windowed) & land
        for name, shape in shapes.items()
        if name != "island"
    }
    lake = masks["lake"]
    forest = masks["forest"] & ~lake & ~coast
    relief = _relief(grid, window, rng)
    rows = np.arange(window.row, window.row + window.height)[:, np.newaxis] + 0.5
    return Landscape(
        grid=grid,
        window=window,
        land=land,
        coast=coast,
        forest=forest & ~masks["deforestation"],
        rangeland=masks["rangeland"] & ~coast,
        cropland=land & ~coast & ~forest & ~masks["rangeland"] & ~lake & (rows > 0.55 * n),
        deforested=masks["deforestation"] & forest,
        burn_core=masks["burn_core"] & forest,
        burn_ring=masks["burn_scar"] & ~masks["burn_core"] & forest,
        lake_full=lake,
        relief=relief,
        shapes=shapes,
    )
