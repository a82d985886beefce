"""The cube: products and datasets of the index, loaded as dask-backed xarray on any grid."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import sqlalchemy as sa
import xarray as xr
from datacube import Datacube
from datacube.model import Dataset, Product
from odc.geo import resxy_, xy_
from odc.geo.crs import CRS
from odc.geo.geobox import GeoBox

from sdgcube.datacube.bands import ProductBands
from sdgcube.datacube.database import IndexDriver
from sdgcube.datacube.index import connect
from sdgcube.datacube.masking import apply_masks
from sdgcube.datacube.query import (
    TimeLike,
    norm_bbox,
    norm_crs_or_none,
    norm_geometry,
    norm_resolution,
    norm_time,
)
from sdgcube.datacube.vectors import VectorStore
from sdgcube.errors import InvalidRequest, NoData, UnknownProduct
from sdgcube.settings import Settings

__all__ = ["DEFAULT_CHUNKS", "Cube", "NativeGrid", "open_cube"]

DEFAULT_CHUNKS: Mapping[str, int] = {"time": 1, "y": 1024, "x": 1024}


@dataclass(frozen=True)
class NativeGrid:
    """CRS, pixel size and pixel-corner alignment shared by most datasets of a product."""

    crs: CRS
    res_x: float
    res_y: float
    align_x: float
    align_y: float

    @classmethod
    def of(cls, datasets: Sequence[Dataset]) -> NativeGrid:
        def key(ds: Dataset) -> tuple[str, float, float, float, float]:
            # The eo3 document's own crs and grid: ``ds.crs`` reads every field of it, twice.
            doc = ds.metadata_doc
            a, _, c, _, e, f = doc["grids"]["default"]["transform"][:6]
            return str(CRS(doc["crs"])), abs(a), abs(e), c % abs(a), f % abs(e)

        crs, res_x, res_y, align_x, align_y = Counter(key(ds) for ds in datasets).most_common(1)[0][
            0
        ]
        return cls(CRS(crs), res_x, res_y, align_x, align_y)


class Cube:
    """An open Open Data Cube index with sdgcube's loading conventions, and the SQLAlchemy engine
    that sdgcube's own tables (vector layers, jobs) in the same database go through."""

    def __init__(self, dc: Datacube, settings: Settings) -> None:
        self.dc = dc
        self.settings = settings
        self.engine = sa.create_engine(dc.index.environment.db_url, pool_pre_ping=True)

    @cached_property
    def vectors(self) -> VectorStore:
        """The vector layers (administrative units, result tables) of this index."""
        return VectorStore(self.engine)

    @property
    def index_driver(self) -> IndexDriver:
        """The ODC index driver: ``postgres`` (embedded) or ``postgis``."""
        return self.dc.index.environment.index_driver

    def close(self) -> None:
        self.dc.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def products(self) -> list[Product]:
        return sorted(self.dc.index.products.get_all(), key=lambda p: p.name)

    def product(self, name: str) -> Product:
        product = self.dc.index.products.get_by_name(name)
        if product is None:
            raise UnknownProduct(name)
        return product

    def bands(self, product: str) -> ProductBands:
        """The product's bands: names, aliases, nodata, scale/offset and its quality band."""
        return ProductBands.of(product, self.product(product).measurements)

    def datasets(self, product: str, time: TimeLike | None = None) -> list[Dataset]:
        """The product's active datasets, oldest first."""
        self.product(product)
        query: dict[str, Any] = {"product": product}
        time_range = norm_time(time)
        if time_range:
            query["time"] = time_range
        return sorted(self.dc.find_datasets(**query), key=lambda ds: (ds.center_time, str(ds.id)))

    def load(
        self,
        product: str,
        *,
        bbox: Sequence[float] | str | None = None,
        bbox_crs: Any = "EPSG:4326",
        time: TimeLike | None = None,
        crs: Any = None,
        resolution: float | Sequence[float] | None = None,
        geometry: Any = None,
        geometry_crs: Any = "EPSG:4326",
        measurements: Sequence[str] | None = None,
        chunks: Mapping[str, int] | None = DEFAULT_CHUNKS,
        mask_nodata: bool = False,
        mask_clouds: bool = False,
        geobox: GeoBox | None = None,
        datasets: Sequence[Dataset] | None = None,
    ) -> xr.Dataset:
        """Load a product as a dask-backed Dataset (eager when ``chunks`` is None).

        Without ``crs``/``resolution`` the product's native grid is used. ``bbox`` is in
        ``bbox_crs`` (WGS 84 by default); ``geometry`` is GeoJSON in ``geometry_crs``. A ``geobox``
        is the exact output grid, replacing area, CRS and resolution. ``datasets`` already found
        (a job's plan) are loaded as given, without searching the index again."""
        bands = self.bands(product)
        query: dict[str, Any] = {}
        time_range = norm_time(time)
        if time_range:
            query["time"] = time_range
        if sum(x is not None for x in (bbox, geometry, geobox)) > 1:
            raise InvalidRequest("give one of bbox, geometry or geobox")
        if geobox is not None:
            query["geopolygon"] = geobox.extent
        if bbox is not None:
            minx, miny, maxx, maxy = norm_bbox(bbox)
            query.update(x=(minx, maxx), y=(miny, maxy), crs=norm_crs_or_none(bbox_crs))
        if geometry is not None:
            query["geopolygon"] = norm_geometry(geometry, geometry_crs)
        if datasets is None:
            datasets = self.dc.find_datasets(product=product, **query)
        if not datasets:
            raise NoData(f"no datasets of {product!r} match the requested area and time")
        names = list(measurements) if measurements else None
        if names:
            bands.select(names)
            quality = bands.quality
            if mask_clouds and quality is not None and quality.name not in names:
                names.append(quality.name)
        if geobox is not None:
            grid_args: dict[str, Any] = {"like": geobox}
        else:
            grid_args = self._grid(product, datasets, crs, resolution)
        data = self.dc.load(
            product=product,
            datasets=datasets,
            measurements=names,
            dask_chunks=_spatial_chunks(
                chunks, geobox.crs if geobox is not None else grid_args["crs"]
            ),
            **{k: v for k, v in grid_args.items() if k != "crs"},
            **{k: v for k, v in query.items() if k != "geopolygon" or geobox is None},
        )
        if mask_nodata or mask_clouds:
            data = apply_masks(data, nodata=mask_nodata, clouds=mask_clouds)
            if measurements:
                data = data[list(measurements)]
        return data

    def _grid(
        self, product: str, datasets: Sequence[Dataset], crs: Any, resolution: Any
    ) -> dict[str, Any]:
        """ODC load arguments for the output grid: native unless ``crs``/``resolution`` say otherwise."""
        grid = NativeGrid.of(datasets)
        out_crs = norm_crs_or_none(crs) or grid.crs
        res = norm_resolution(resolution)
        if res is None:
            if out_crs != grid.crs:
                raise InvalidRequest(f"resolution is needed when loading {product!r} in {out_crs}")
            res = (grid.res_x, grid.res_y)
        align = (
            xy_(grid.align_x, grid.align_y)
            if out_crs == grid.crs and res == (grid.res_x, grid.res_y)
            else None
        )
        return {
            "crs": out_crs,
            "output_crs": str(out_crs),
            "resolution": resxy_(res[0], -res[1]),
            "align": align,
        }


def _spatial_chunks(chunks: Mapping[str, int] | None, crs: CRS | None) -> dict[str, int] | None:
    """Chunks keyed by the dimension names ODC gives this CRS (``latitude``/``longitude`` if geographic)."""
    if chunks is None:
        return None
    if crs is None or not crs.geographic:
        return dict(chunks)
    names = {"y": "latitude", "x": "longitude"}
    return {names.get(dim, dim): size for dim, size in chunks.items()}


def open_cube(settings: Settings | None = None) -> Cube:
    """Open the cube of these settings (default: from the environment and ``sdgcube.yaml``)."""
    settings = settings or Settings()
    return Cube(connect(settings), settings)
