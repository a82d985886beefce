"""What the index holds, summarised for publishing: extents, time slices and bands of each product.

The OGC configuration (collections, map layers) is generated from these summaries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from datacube.model import Dataset, Product
from datacube.utils import parse_time
from odc.geo import CRS, Geometry
from odc.geo.geom import polygon
from shapely.geometry import box
from shapely.ops import unary_union

from sdgcube.datacube.bands import Band, ProductBands
from sdgcube.datacube.cube import Cube, NativeGrid
from sdgcube.datacube.database import read_dataset_documents

__all__ = ["ProductSummary", "summarise_datasets", "summarise_products"]


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


def summarise_products(cube: Cube, names: Sequence[str] | None = None) -> list[ProductSummary]:
    """Summaries of the named products (every product if None; names the index lacks are left
    out), with one query for the active datasets' documents of them all: a search per product
    (``Cube.datasets``) costs ODC several queries over every product."""
    index = cube.dc.index.products
    if names is None:
        products = {p.name: p for p in index.get_all()}
    else:  # a refresh names a few: reading all of a thousand products costs more than that
        found = {name: index.get_by_name(name) for name in names}
        products = {name: p for name, p in found.items() if p is not None}
    chosen = sorted(products) if names is None else [n for n in names if n in products]
    datasets: dict[str, list[Dataset]] = {name: [] for name in chosen}
    with cube.engine.connect() as conn:
        documents = read_dataset_documents(conn, cube.index_driver, chosen)
    for name, document in documents:
        datasets[name].append(Dataset(products[name], document))
    return [summarise_datasets(products[name], datasets[name]) for name in chosen]


def summarise_datasets(product: Product, datasets: list[Dataset]) -> ProductSummary:
    """The summary of a product holding these (active) datasets."""
    name, description = product.name, product.description or product.name
    bands = ProductBands.of(name, product.measurements).bands
    if not datasets:
        return ProductSummary(name, description, bands, 0, None, (), None, None)
    grid = NativeGrid.of(datasets)
    facts = [_extent_and_time(ds) for ds in datasets]
    extents = [extent for extent, _ in facts if extent is not None]
    footprint = unary_union([box(*e.to_crs("EPSG:4326").boundingbox) for e in extents])
    native = unary_union([box(*e.to_crs(grid.crs).boundingbox) for e in extents])
    times = tuple(sorted({time for _, time in facts if time is not None}))
    return ProductSummary(
        name=name,
        description=description,
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


def _extent_and_time(ds: Dataset) -> tuple[Geometry | None, datetime | None]:
    """ODC's ``ds.extent`` and ``ds.center_time``, derived the way ODC does from one reading of the
    document's fields: each of ODC's properties reads every field of the document twice over
    (``DocReader.__getattr__``), which made summaries of a thousand products take seconds."""
    fields = ds.metadata.fields
    projection = fields.get("grid_spatial") or {}
    reference = projection.get("spatial_reference")
    valid_data, corners = projection.get("valid_data"), projection.get("geo_ref_points")
    extent = None
    if reference and valid_data:
        extent = Geometry(valid_data, crs=CRS(str(reference)))
    elif reference and corners:
        points = [(corners[k]["x"], corners[k]["y"]) for k in ("ll", "ul", "ur", "lr", "ll")]
        extent = polygon(points, crs=CRS(str(reference)))
    time = fields.get("time")
    if time is None:
        return extent, None
    begin, end = parse_time(time.begin), parse_time(time.end)
    return extent, begin + (end - begin) // 2
