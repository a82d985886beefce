"""Users' own data for the process tests: small rasters in other CRSs than the demo's (EPSG:32760),
with declared nodata and sparse years, ingested into a fresh cube as a user would, and the
ellipsoidal area of their pixels computed independently of ``sdgcube.datacube.areas``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Geod, Transformer
from shapely.geometry import box

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.index import add_product, init_index
from sdgcube.datacube.ingest import ingest_file
from sdgcube.processes.base import CubeProcessor
from sdgcube.processes.context import local_context
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

__all__ = [
    "Grid",
    "fresh_cube",
    "geodesic_km2",
    "ingest_year",
    "product_doc",
    "run_process",
    "unit_layer",
]

_GEOD = Geod(ellps="WGS84")


class Grid:
    """A north-up pixel grid: CRS, top-left corner, pixel size and shape (rows, cols)."""

    def __init__(self, crs: str, left: float, top: float, size: float, shape: tuple[int, int]):
        self.crs, self.shape = crs, shape
        self.transform = Affine(size, 0, left, 0, -size, top)

    def bounds(self, rows: slice, cols: slice) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of a block of pixels, in the grid's CRS."""
        left, top = self.transform * (cols.start, rows.start)
        right, bottom = self.transform * (cols.stop, rows.stop)
        return left, bottom, right, top


def fresh_cube(backend: str, make_settings: Callable[[str], Settings]) -> Cube:
    settings = make_settings(backend)
    return Cube(init_index(settings), settings)


def product_doc(name: str, measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """An eo3 product definition, as a user writes one to declare nodata, scale or quality bits."""
    return {"name": name, "description": f"{name}: a user's product", "metadata_type": "eo3",
            "metadata": {"product": {"name": name}}, "measurements": measurements}  # fmt: skip


def ingest_year(cube: Cube, folder: Path, product: str, data: np.ndarray, grid: Grid, *, year: int,
                nodata: float | None, definition: Mapping[str, Any] | None = None) -> None:  # fmt: skip
    """Write ``data`` ((bands,) rows, cols) as a GeoTIFF and ingest it as ``product`` in mid-``year``;
    ``definition`` is added first when the product does not exist yet."""
    if definition is not None and cube.dc.index.products.get_by_name(product) is None:
        add_product(cube.dc.index, dict(definition))
    bands = data[np.newaxis] if data.ndim == 2 else data
    path = folder / f"{product}_{year}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1],
                       count=bands.shape[0], dtype=bands.dtype, crs=grid.crs, transform=grid.transform,
                       nodata=nodata) as dst:  # fmt: skip
        dst.write(bands)
    ingest_file(cube.dc, cube.settings.archive_dir, path, product=product,
                when=datetime(year, 7, 1, tzinfo=UTC))  # fmt: skip


def geodesic_km2(grid: Grid) -> np.ndarray:
    """float64 (rows, cols): each pixel's corners taken to WGS 84, the polygon's area on the ellipsoid."""
    rows, cols = grid.shape
    to_wgs84 = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    out = np.empty(grid.shape)
    for r in range(rows):
        for c in range(cols):
            xs, ys = zip(*(grid.transform * corner for corner in
                           ((c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1))), strict=True)  # fmt: skip
            lons, lats = to_wgs84.transform(xs, ys)
            out[r, c] = abs(_GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e6
    return out


def unit_layer(cube: Cube, name: str, grid: Grid, units: Mapping[str, tuple[slice, slice]]) -> None:
    """A vector layer whose features are blocks of pixels of ``grid`` (id → (rows, cols))."""
    to_wgs84 = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    features = []
    for fid, (rows, cols) in units.items():
        minx, miny, maxx, maxy = grid.bounds(rows, cols)
        (west, east), (south, north) = to_wgs84.transform([minx, maxx], [miny, maxy])
        features.append((fid, box(west, south, east, north), {"name": f"unit {fid}"}))
    cube.vectors.upsert_layer_features(name, features, replace=True)


def run_process(process: CubeProcessor, cube: Cube, data: dict[str, Any]) -> dict[str, Any]:
    """Prepare (parse and check) a request and run its plan in this process; the result document."""
    with local_context(Services.of(cube)) as ctx:
        return process.run_plan(process.prepare(data, ctx.cube), ctx).document
