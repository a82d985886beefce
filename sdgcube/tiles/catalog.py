"""What a tile request may read: the registered datasets of one product for one time selection.

Everything here comes from the ODC index, never from the client, which is what keeps the tiler from
reading arbitrary files or URLs. A selection is frozen; the catalog caches selections for a few
seconds so that a burst of tile requests costs one index query, while newly registered results
still appear promptly.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import shapely
from datacube.model import Dataset
from datacube.utils.uris import uri_resolve, uri_to_local_path
from rasterio.warp import transform_bounds
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.bands import Band, ProductBands
from sdgcube.datacube.cube import Cube, NativeGrid
from sdgcube.datacube.query import TimeRange, norm_time
from sdgcube.errors import NoData
from sdgcube.tiles._ttl import TtlCache

__all__ = [
    "SELECTION_TTL_S",
    "BBox",
    "Catalog",
    "DatasetRef",
    "Selection",
    "dataset_ref",
    "geographic_area",
    "select",
]  # fmt: skip

BBox = tuple[float, float, float, float]
_WORLD = shapely.box(-180, -90, 180, 90)
SELECTION_TTL_S = 5.0
"""How long a (product, datetime) selection is reused before the index is asked again."""


@dataclass(frozen=True, eq=False)
class DatasetRef:
    """One indexed dataset: where its band files are and what ground it covers."""

    id: str
    time: datetime
    crs: str
    bounds: BBox
    """Extent in the dataset's own CRS."""
    footprint: BaseGeometry
    """Extent in EPSG:4326, split at the antimeridian, for intersecting requests in any CRS."""
    files: Mapping[str, tuple[str, int]]
    """Band name → (local path or URI, 1-based band index in that file)."""


def _file(base: str, measurement: Mapping[str, object]) -> tuple[str, int]:
    uri = uri_resolve(base, str(measurement["path"]))
    local = uri_to_local_path(uri)
    return (str(local) if local is not None else uri), int(str(measurement.get("band", 1)))


def dataset_ref(ds: Dataset) -> DatasetRef:
    """The parts of an ODC dataset that reading tiles needs."""
    extent = ds.extent
    if extent is None or ds.uri is None:
        raise NoData(f"dataset {ds.id} has no extent or location")
    return DatasetRef(
        id=str(ds.id),
        time=ds.center_time,
        crs=str(ds.crs),
        bounds=tuple(extent.boundingbox),  # type: ignore[arg-type]
        footprint=extent.to_crs("EPSG:4326", wrapdateline=True).geom,
        files={name: _file(ds.uri, m) for name, m in ds.measurements.items()},
    )


@dataclass(frozen=True, eq=False)
class Selection:
    """The datasets of a product chosen by one ``datetime`` value, newest first."""

    product: str
    product_bands: ProductBands
    datasets: tuple[DatasetRef, ...]
    time_range: tuple[str, str]
    crs: str
    """The CRS most datasets share: the grid of overviews and of ``/preview``."""
    resolution: float
    """Native pixel size in ``crs`` units (the coarser axis)."""
    bounds: BBox
    """Union of the dataset extents in ``crs``."""

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever a dataset enters or leaves the selection."""
        return hashlib.sha1(",".join(sorted(d.id for d in self.datasets)).encode()).hexdigest()[:12]

    @cached_property
    def label(self) -> str:
        """Dates of the oldest and newest dataset, for file names people can read."""
        return f"{self.datasets[-1].time:%Y-%m-%d}_{self.datasets[0].time:%Y-%m-%d}"

    @cached_property
    def _tree(self) -> shapely.STRtree:
        return shapely.STRtree([d.footprint for d in self.datasets])

    def intersecting(self, area: BaseGeometry) -> list[DatasetRef]:
        """Datasets whose footprint meets ``area`` (EPSG:4326), newest first."""
        hits = self._tree.query(area, predicate="intersects")
        return [self.datasets[i] for i in sorted(int(h) for h in hits)]

    @property
    def bands(self) -> tuple[Band, ...]:
        return self.product_bands.bands

    def resolve(self, names: Sequence[str]) -> tuple[Band, ...]:
        """Bands by name or alias, in the order asked; an unknown name is the client's error."""
        return self.product_bands.select(names)


def _day(day: date) -> TimeRange:
    return f"{day.isoformat()}T00:00:00", f"{day.isoformat()}T23:59:59.999999"


def _latest_slice(cube: Cube, product: str) -> tuple[TimeRange, list[Dataset]]:
    """The day of the newest active dataset, and every dataset of that day."""
    try:
        _, newest = cube.dc.index.products.temporal_extent(product)
    except (RuntimeError, KeyError, ValueError):
        newest = None
    if newest is not None:
        found = cube.datasets(product, _day(newest.date()))
        if found:
            return _day(newest.date()), found
    # The index's extent may count archived datasets: ask for the active ones themselves.
    every = cube.datasets(product)
    if not every:
        raise NoData(f"product {product!r} has no datasets")
    day = _day(every[-1].center_time.date())
    return day, cube.datasets(product, day)


def _union_bounds(refs: Sequence[DatasetRef], crs: str) -> BBox:
    boxes = [r.bounds if r.crs == crs else transform_bounds(r.crs, crs, *r.bounds) for r in refs]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def select(
    cube: Cube,
    product: str,
    time: str | None,
    *,
    ref_of: Callable[[Dataset], DatasetRef] = dataset_ref,
) -> Selection:
    """The datasets of ``product`` within ``time`` (an ISO instant, period or ``a/b`` interval).

    Without ``time`` the latest time slice is used: every dataset of the day of the newest one."""
    if time:
        time_range = norm_time(time)
        assert time_range is not None  # a non-empty time always gives a range
        found = cube.datasets(product, time_range)
    else:
        time_range, found = _latest_slice(cube, product)
    if not found:
        raise NoData(f"no datasets of {product!r} within datetime {time!r}")
    grid = NativeGrid.of(found)
    refs = tuple(ref_of(ds) for ds in reversed(found))
    crs = str(grid.crs)
    return Selection(
        product=product,
        product_bands=cube.bands(product),
        datasets=refs,
        time_range=time_range,
        crs=crs,
        resolution=max(grid.res_x, grid.res_y),
        bounds=_union_bounds(refs, crs),
    )


class Catalog:
    """Selections of the cube's products, cached for ``ttl`` seconds; datasets memoised by id."""

    def __init__(self, cube: Cube, *, ttl: float = SELECTION_TTL_S) -> None:
        self.cube = cube
        self._refs: dict[str, DatasetRef] = {}
        self._index_lock = threading.Lock()
        self._selections: TtlCache[tuple[str, str | None], Selection] = TtlCache(
            self._select, ttl=ttl
        )

    def select(self, product: str, time: str | None = None) -> Selection:
        return self._selections.get((product, time or None))

    def _select(self, key: tuple[str, str | None]) -> Selection:
        with self._index_lock:
            return select(self.cube, key[0], key[1], ref_of=self._ref)

    def _ref(self, ds: Dataset) -> DatasetRef:
        key = str(ds.id)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = dataset_ref(ds)
        return ref


def geographic_area(bounds: BBox, crs: str) -> BaseGeometry:
    """The EPSG:4326 bounding box of ``bounds`` in ``crs``, in two parts if it crosses 180°.

    A box, not the exact shape: a request may then meet a dataset it does not touch, which costs a
    file-extent check, never a wrong pixel. The whole world if it cannot be projected."""
    try:
        west, south, east, north = transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)
    except Exception:  # noqa: BLE001 - projections fail in many ways far outside their area of use
        return _WORLD
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return _WORLD
    if west > east:
        return shapely.MultiPolygon(
            [shapely.box(west, south, 180, north), shapely.box(-180, south, east, north)]
        )
    return shapely.box(west, south, east, north)
