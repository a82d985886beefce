"""What the index holds, summarised for publishing: extents, time slices and bands of each product.

The OGC configuration (collections, map layers) is generated from these summaries, and a cheap
fingerprint of the index tells a running server when to regenerate it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shapely.geometry import box
from shapely.ops import unary_union

from sdgcube.datacube.bands import Band
from sdgcube.datacube.cube import Cube, NativeGrid

__all__ = ["ProductSummary", "index_fingerprint", "summarise_products"]


@dataclass(frozen=True)
class ProductSummary:
    name: str
    description: str
    bands: tuple[Band, ...]
    dataset_count: int
    bbox: tuple[float, float, float, float] | None
    """Union of the datasets' footprints, WGS 84 (lon/lat)."""
    times: tuple[datetime, ...]
    """Distinct dataset times, oldest first."""
    grid: NativeGrid | None
    native_bbox: tuple[float, float, float, float] | None
    """Union of the datasets' bounds in the native grid's CRS."""
    content_key: str = ""
    """Changes whenever the set of datasets does (a hash of their ids)."""

    def __deepcopy__(self, memo: dict[int, object]) -> ProductSummary:
        return self  # immutable: a copy would be equal in every way


def summarise_product(cube: Cube, name: str) -> ProductSummary:
    product = cube.product(name)
    datasets = cube.datasets(name)
    bands = cube.bands(name).bands
    if not datasets:
        return ProductSummary(name, product.description or name, bands, 0, None, (), None, None)
    grid = NativeGrid.of(datasets)
    extents = [ds.extent for ds in datasets if ds.extent is not None]
    footprint = unary_union([box(*e.to_crs("EPSG:4326").boundingbox) for e in extents])
    native = unary_union([box(*e.to_crs(grid.crs).boundingbox) for e in extents])
    times = tuple(sorted({ds.center_time for ds in datasets if ds.center_time is not None}))
    return ProductSummary(
        name=name,
        description=product.description or name,
        bands=bands,
        dataset_count=len(datasets),
        bbox=tuple(round(v, 7) for v in footprint.bounds),
        times=times,
        grid=grid,
        native_bbox=tuple(native.bounds),
        content_key=hashlib.sha256(
            ",".join(sorted(str(ds.id) for ds in datasets)).encode()
        ).hexdigest()[:16],
    )


def summarise_products(cube: Cube, names: Sequence[str] | None = None) -> list[ProductSummary]:
    names = names if names is not None else [p.name for p in cube.products()]
    return [summarise_product(cube, name) for name in names]


def index_fingerprint(cube: Cube) -> str:
    """Changes whenever a product or a dataset is added or archived; one cheap query."""
    counts = sorted(
        (product.name, count) for product, count in cube.dc.index.datasets.count_by_product()
    )
    names = sorted(p.name for p in cube.products())
    return hashlib.sha256(repr((names, counts)).encode()).hexdigest()
