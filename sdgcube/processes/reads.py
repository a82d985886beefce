"""What a process reads from the cube, resolved once while the request is open.

A ``ReadSpec`` says what the inputs ask for (a product, its bands, the periods or time, cloud
masking); ``resolve_read`` checks it against the index — naming the input at fault — and returns a
frozen ``Read``: the measurement names, the datasets found, whether clouds are masked. The job loads
a ``Read`` as it is, without searching the index again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xarray as xr
from datacube.api.core import output_geobox
from datacube.model import Dataset
from odc.geo import resxy_, xy_
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry
from pydantic import Field
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.bands import ProductBands
from sdgcube.datacube.cube import Cube, NativeGrid
from sdgcube.datacube.query import norm_crs_or_none, norm_time
from sdgcube.errors import InvalidRequest, NoData, UnknownProduct
from sdgcube.processes.periods import Period

__all__ = [
    "Read",
    "ReadSpec",
    "area_input_name",
    "band_name",
    "datasets_of",
    "grid_over",
    "mask_clouds_input",
    "norm_mask_clouds",
    "product_bands",
    "resolve_read",
    "years_text",
]


def mask_clouds_input(what: str = "") -> Any:
    """The ``mask_clouds: bool | None`` field every process declares (``what``: where it applies)."""
    return Field(
        None,
        description=f"{what}Mask pixels the product's quality band flags as cloud or shadow; unset: mask "
        "when the product has a quality band, not when it has none",
    )


@dataclass(frozen=True)
class ReadSpec:
    """What the inputs ask to read from one product."""

    product: str
    field: str
    """The input naming the product (messages name it)."""
    bands: Mapping[str, str | None] = field(default_factory=dict)
    """Input name -> band (name or alias; None: the product's first band)."""
    periods: Mapping[str, Period | Sequence[int]] = field(default_factory=dict)
    """Input name -> the years it asks for; each must have data in at least one of them."""
    years: Collection[int] | None = None
    """The years whose datasets are read; None: those of ``periods`` (or all, without periods)."""
    time: str | None = None
    """A cube time (year, date, start/end) instead of periods; None with no periods: all time."""
    time_field: str | None = None
    mask_clouds: bool | None = False
    """True: mask (the product must have a quality band); None: mask if it has one."""


@dataclass(frozen=True)
class Read:
    """A checked read: the product's bands, the datasets to load, and how to mask them."""

    catalog: ProductBands
    bands: Mapping[str, str]
    """Input name -> measurement name."""
    datasets: tuple[Dataset, ...]
    """Oldest first; only those of the years asked for."""
    mask_clouds: bool

    @property
    def product(self) -> str:
        return self.catalog.product

    @property
    def years(self) -> tuple[int, ...]:
        """The years that have data, ascending."""
        return tuple(sorted({_year(ds) for ds in self.datasets}))

    @property
    def time_slices(self) -> int:
        """The time slices a load of every dataset gives (datasets of one time stack into one)."""
        return len({ds.center_time for ds in self.datasets})

    def pixel_values(
        self, area: BaseGeometry | None, *, crs: str | None = None, resolution: float | None = None
    ) -> int:
        """Pixels × time slices that ``load`` over ``area`` (WGS 84; None: the datasets' extent)
        gives: the grid is the one ODC builds for that load, so the count is exact, not a guess.
        Bands are not counted (the quotas count pixel values per time slice)."""
        grid = grid_over(self.datasets, area, crs=crs, resolution=resolution)
        return grid.width * grid.height * self.time_slices

    def in_years(self, years: Collection[int]) -> tuple[Dataset, ...]:
        return tuple(ds for ds in self.datasets if _year(ds) in years)

    def load(
        self,
        cube: Cube,
        *,
        years: Collection[int] | None = None,
        area: Mapping[str, Any] | None = None,
        geobox: GeoBox | None = None,
        crs: str | None = None,
        resolution: float | None = None,
        mask_nodata: bool = True,
    ) -> xr.Dataset:
        """The bands (by measurement name) of all datasets, or of those of ``years``, on the native
        grid over ``area``, on ``crs``/``resolution``, or on ``geobox``."""
        datasets = self.datasets if years is None else self.in_years(years)
        if not datasets:
            raise NoData(
                f"product {self.product!r} has no datasets in {years_text(sorted(years or ()))}"
            )
        return cube.load(self.product, datasets=datasets, measurements=list(dict.fromkeys(self.bands.values())),
                         mask_nodata=mask_nodata, mask_clouds=self.mask_clouds, geobox=geobox, crs=crs,
                         resolution=resolution, **(area or {}))  # fmt: skip

    def physical(self, data: xr.Dataset) -> dict[str, xr.DataArray]:
        """float32 bands in physical units (scale and offset applied), keyed by input name."""
        return {key: self.catalog[name].physical(data[name]) for key, name in self.bands.items()}


def grid_over(
    datasets: Sequence[Dataset],
    area: BaseGeometry | None,
    *,
    crs: str | None = None,
    resolution: float | None = None,
) -> GeoBox:
    """The grid ``Cube.load`` reads ``datasets`` on over ``area`` (WGS 84; None: their extent):
    their native grid, or ``crs``/``resolution``, built by ODC's own ``output_geobox``."""
    native = NativeGrid.of(datasets)
    out_crs = norm_crs_or_none(crs) or native.crs
    res = (resolution, resolution) if resolution is not None else (native.res_x, native.res_y)
    aligned = out_crs == native.crs and res == (native.res_x, native.res_y)
    return output_geobox(
        output_crs=str(out_crs), resolution=resxy_(res[0], -res[1]),
        align=xy_(native.align_x, native.align_y) if aligned else None, datasets=datasets,
        geopolygon=Geometry(mapping(area), "EPSG:4326") if area is not None else None,
    )  # fmt: skip


def _year(dataset: Dataset) -> int:
    return dataset.center_time.year


def years_text(years: Sequence[int]) -> str:
    """Years for a message: all of a few, the first and last of many."""
    if not years:
        return "none"
    if len(years) <= 4:
        return ", ".join(str(y) for y in years)
    return f"{years[0]}…{years[-1]} ({len(years)} years)"


def product_bands(cube: Cube, product: str, *, field: str) -> ProductBands:
    """The product's bands; an unknown product is the fault of input ``field``."""
    try:
        return cube.bands(product)
    except UnknownProduct:
        raise InvalidRequest(f"input {field!r}: unknown product {product!r}") from None


def band_name(catalog: ProductBands, name: str | None, *, field: str) -> str:
    """The measurement ``name`` means (an alias is fine; None: the first band), at input ``field``."""
    if name is None:
        return catalog.first.name
    try:
        return catalog[name].name
    except InvalidRequest as exc:
        raise InvalidRequest(f"input {field!r}: {exc}") from None


def norm_mask_clouds(catalog: ProductBands, value: bool | None) -> bool:
    """Mask clouds? Unset: when the product has a quality band. True on a product without one is refused."""
    if value is None:
        return catalog.quality is not None
    if value and catalog.quality is None:
        raise InvalidRequest(
            f"input 'mask_clouds': product {catalog.product!r} has no pixel-quality band to mask clouds with"
        )
    return value


def area_input_name(inputs: object) -> str:
    """The input that chose the area (messages about data missing in it name it)."""
    for name in ("bbox", "geometry", "unit_ids"):
        if getattr(inputs, name, None) is not None:
            return name
    return "units_layer" if hasattr(inputs, "units_layer") else "bbox"


def _find(cube: Cube, spec: ReadSpec, area: BaseGeometry | None) -> tuple[Dataset, ...]:
    query: dict[str, Any] = {"product": spec.product}
    if area is not None:
        query["geopolygon"] = Geometry(mapping(area), "EPSG:4326")
    if spec.time is not None:
        try:
            query["time"] = norm_time(spec.time)
        except InvalidRequest as exc:
            raise InvalidRequest(f"input {spec.time_field!r}: {exc}") from None
    return tuple(
        sorted(cube.dc.find_datasets(**query), key=lambda ds: (ds.center_time, str(ds.id)))
    )


def _years_used(spec: ReadSpec, held: set[int]) -> set[int] | None:
    """The years of the periods that have data; None when the spec names no periods."""
    if not spec.periods:
        return None
    used: set[int] = set()
    for name, period in spec.periods.items():
        wanted = list(period.years if isinstance(period, Period) else period)
        present = {y for y in wanted if y in held}
        if not present:
            raise NoData(f"input {name!r}: product {spec.product!r} has no datasets in {years_text(wanted)} "
                         f"(years held: {years_text(sorted(held))})")  # fmt: skip
        used |= present
    return used


def resolve_read(cube: Cube, spec: ReadSpec, *, area: BaseGeometry | None, area_field: str) -> Read:
    """Check ``spec`` against the index over ``area`` (WGS 84; None: everywhere) into a Read."""
    catalog = product_bands(cube, spec.product, field=spec.field)
    bands = {key: band_name(catalog, name, field=key) for key, name in spec.bands.items()}
    mask_clouds = norm_mask_clouds(catalog, spec.mask_clouds)
    found = _find(cube, spec, area)
    if not found:
        where = " in the requested area" if area is not None else ""
        if spec.time is None:
            raise NoData(f"input {area_field!r}: product {spec.product!r} has no data{where}")
        raise NoData(f"input {spec.time_field!r}: product {spec.product!r} has no datasets{where} for "
                     f"{spec.time_field} {spec.time!r}")  # fmt: skip
    used = _years_used(spec, {_year(ds) for ds in found})
    keep = spec.years if spec.years is not None else used
    datasets = found if keep is None else tuple(ds for ds in found if _year(ds) in keep)
    return Read(catalog, bands, datasets, mask_clouds)


def datasets_of(reads: Iterable[Read]) -> dict[str, list[str]]:
    """Product -> ids of the datasets read (a result's lineage)."""
    out: dict[str, set[str]] = {}
    for read in reads:
        out.setdefault(read.product, set()).update(str(ds.id) for ds in read.datasets)
    return {product: sorted(ids) for product, ids in out.items()}
