"""Thin xarray/dask wrappers over the indicator kernels of ``sdgcube.indicators``.

Per-pixel kernels run blockwise (``xr.apply_ufunc(..., dask="parallelized")``) and keep the
loaded data's coordinates, so results still carry their ``GeoBox``. Zonal sums run per spatial
block too: each block rasterises the reporting units and computes its pixel areas for its own part
of the grid, and the per-block tables are summed, so memory stays bounded by the chunk size however
large the area.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.indicators import burn, forest, hazard, water
from sdgcube.indicators.urban import population_by_unit as _population_by_unit
from sdgcube.indicators.zonal import class_area_by_unit

__all__ = [
    "UnitRaster",
    "class_area",
    "dnbr_severity",
    "forest_from_land_cover",
    "forest_from_ndvi",
    "hazard_mask",
    "mndwi",
    "nbr",
    "population_by_unit",
    "water_from_index",
    "within_units",
    "yearly_last",
    "yearly_median",
    "yearly_water_classes",
]


class UnitRaster(Protocol):
    """The reporting units burnt into a grid: int32 (y, x), 0 outside, i + 1 in unit i."""

    def __call__(self, geobox: GeoBox, /) -> np.ndarray: ...


def _apply(func: Callable[..., np.ndarray], *arrays: xr.DataArray, dtype: str, name: str,
           core_dims: Sequence[str] = ()) -> xr.DataArray:  # fmt: skip
    """``func`` blockwise; coordinates (the ``spatial_ref`` CRS included) kept, the inputs' attrs not."""
    out = xr.apply_ufunc(
        func, *arrays, input_core_dims=[list(core_dims)] * len(arrays), dask="parallelized",
        output_dtypes=[np.dtype(dtype)], keep_attrs=True,
    )  # fmt: skip
    out.attrs = {}
    return out.rename(name)


def mndwi(green: xr.DataArray, swir1: xr.DataArray) -> xr.DataArray:
    """float32 MNDWI = (green − SWIR1) / (green + SWIR1); NaN where either is NaN."""
    return _apply(water.mndwi, green, swir1, dtype="float32", name="mndwi")


def water_from_index(index: xr.DataArray, *, threshold: float = 0.0) -> xr.DataArray:
    """uint8 water codes (1 water where index > threshold, 0 dry, 255 no data)."""
    return _apply(
        lambda a: water.water_from_index(a, threshold=threshold), index, dtype="uint8", name="water"
    )


def _persistence_last_axis(observations: np.ndarray) -> np.ndarray:
    return water.water_persistence(np.moveaxis(observations, -1, 0))


def yearly_water_classes(observations: xr.DataArray, years: Sequence[int]) -> xr.DataArray:
    """int8 (year, y, x) water classes (``sdgcube.indicators.water``) of each year's observations.

    A year without any observation is -1 (no data) everywhere."""
    years_of = observations.time.dt.year
    per_year = []
    for year in years:
        selected = observations.isel(time=np.flatnonzero((years_of == year).values))
        if selected.sizes["time"] == 0:
            template = observations.isel(time=0, drop=True)
            per_year.append(xr.full_like(template, water.NODATA, dtype=np.int8))
            continue
        if selected.chunks is not None:
            selected = selected.chunk(time=-1)
        per_year.append(
            _apply(
                _persistence_last_axis,
                selected,
                dtype="int8",
                name="water_class",
                core_dims=["time"],
            )
        )
    return xr.concat(per_year, dim=xr.DataArray(list(years), dims="year", name="year")).rename(
        "water_class"
    )


def _per_year(data: xr.DataArray, reduce: Callable[[xr.DataArray], xr.DataArray]) -> xr.DataArray:
    """(year, y, x): each year's time slices reduced to one, for the years that have any."""
    years_of = data.time.dt.year.values
    years = [int(y) for y in np.unique(years_of)]
    per_year = [reduce(data.isel(time=np.flatnonzero(years_of == y))) for y in years]
    return xr.concat(per_year, dim=xr.DataArray(years, dims="year", name="year"))


def yearly_last(data: xr.DataArray) -> xr.DataArray:
    """(year, y, x): each year's last time slice (a class map is never averaged)."""
    return _per_year(data, lambda slices: slices.isel(time=-1, drop=True))


def yearly_median(data: xr.DataArray) -> xr.DataArray:
    """(year, y, x): each year's NaN-skipping median over its time slices."""

    def median(slices: xr.DataArray) -> xr.DataArray:
        if slices.sizes["time"] == 1:
            return slices.isel(time=0, drop=True)
        return slices.chunk(time=-1).median("time", skipna=True)

    return _per_year(data, median)


def forest_from_land_cover(
    land_cover: xr.DataArray,
    *,
    forest_classes: Sequence[int],
    non_land_classes: Sequence[int],
    nodata: int | None,
) -> xr.DataArray:
    """int8 forest classes (``sdgcube.indicators.forest``) of a land-cover raster."""

    def classify(a: np.ndarray) -> np.ndarray:
        return forest.forest_from_land_cover(a, forest_classes=forest_classes, non_land_classes=non_land_classes,
                                             nodata=nodata)  # fmt: skip

    return _apply(classify, land_cover, dtype="int8", name="forest_class")


def forest_from_ndvi(
    ndvi: xr.DataArray, *, forest_threshold: float, land_threshold: float
) -> xr.DataArray:
    """int8 forest classes from NDVI thresholds."""

    def classify(a: np.ndarray) -> np.ndarray:
        return forest.forest_from_ndvi(
            a, forest_threshold=forest_threshold, land_threshold=land_threshold
        )

    return _apply(classify, ndvi, dtype="int8", name="forest_class")


def nbr(nir: xr.DataArray, swir2: xr.DataArray) -> xr.DataArray:
    """float32 NBR = (NIR − SWIR2) / (NIR + SWIR2)."""
    return _apply(burn.nbr, nir, swir2, dtype="float32", name="nbr")


def dnbr_severity(
    dnbr: xr.DataArray, *, bounds: Sequence[float] = burn.DNBR_BOUNDS
) -> xr.DataArray:
    """int8 Key & Benson severity classes of dNBR (-128 no data)."""
    limits = tuple(bounds)
    return _apply(
        lambda a: burn.dnbr_severity(a, bounds=limits), dnbr, dtype="int8", name="burn_severity"
    )


def hazard_mask(values: xr.DataArray, *, min_value: float, max_value: float | None) -> xr.DataArray:
    """bool (y, x): any time slice of ``values`` (time, y, x) within [min_value, max_value]."""
    if "time" in values.dims:
        if values.chunks is not None:
            values = values.chunk(time=-1)

        def reduce(a: np.ndarray) -> np.ndarray:
            return hazard.hazard_mask(
                np.moveaxis(a, -1, 0), min_value=min_value, max_value=max_value
            )

        return _apply(reduce, values, dtype="bool", name="hazard", core_dims=["time"])
    return _apply(lambda a: hazard.hazard_mask(a, min_value=min_value, max_value=max_value), values,
                      dtype="bool", name="hazard")  # fmt: skip


# --- zonal sums, one table per spatial block ---------------------------------------------------------

BlockTable = Callable[..., np.ndarray]
"""(block, …, units (y, x), pixel km² (y, x)) -> (..., n_units, n_columns): one table per block of the
arrays (each (..., y, x), blocked alike), the leading dimensions kept."""


def _zonal(arrays: Sequence[da.Array], geobox: GeoBox, units: UnitRaster, n_units: int, n_columns: int,
           table: BlockTable) -> da.Array:  # fmt: skip
    first = arrays[0]
    lead = first.ndim - 2

    def block_table(*blocks: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (y0, y1), (x0, x1) = block_info[0]["array-location"][-2:]
        part = geobox[y0:y1, x0:x1]
        result = table(*blocks, units(part), pixel_area_km2(part))
        return result.reshape((*result.shape[:lead], 1, 1, n_units, n_columns))

    blocks_y, blocks_x = first.numblocks[-2:]
    chunks = (*first.chunks[:lead], (1,) * blocks_y, (1,) * blocks_x, (n_units,), (n_columns,))
    partial = da.map_blocks(block_table, *arrays, chunks=chunks, new_axis=[first.ndim, first.ndim + 1],
                            dtype=np.float64)  # fmt: skip
    return partial.sum(axis=(lead, lead + 1))


def within_units(array: xr.DataArray, units: UnitRaster) -> xr.DataArray:
    """float32 (y, x) ``array`` where some unit covers the pixel, NaN elsewhere; each block burns
    the units into its own part of the grid."""
    geobox = _check_grid(array)

    def mask(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (y0, y1), (x0, x1) = block_info[0]["array-location"]
        return np.where(
            units(geobox[y0:y1, x0:x1]) > 0, block.astype(np.float32), np.float32(np.nan)
        )

    data = da.map_blocks(mask, _as_dask(array), dtype=np.float32)
    return array.copy(data=data).astype(np.float32)


def _as_dask(array: xr.DataArray) -> da.Array:
    """The array's dask data; numpy data in 1024² spatial blocks (whole along other dimensions)."""
    if isinstance(array.data, da.Array):
        return array.data
    return da.from_array(array.data, chunks=(*(-1,) * (array.ndim - 2), 1024, 1024))


def _check_grid(array: xr.DataArray) -> GeoBox:
    geobox = array.odc.geobox
    if geobox is None or geobox.crs is None or tuple(array.shape[-2:]) != tuple(geobox.shape):
        raise ValueError(f"{array.name!r} has no GeoBox on its last two dimensions")
    return geobox


def class_area(
    classes: xr.DataArray, units: UnitRaster, *, n_units: int, class_values: Sequence[int]
) -> xr.DataArray:
    """float64 (..., unit, class) km² on the ellipsoid of each class in each unit (lazy).

    ``classes`` is (..., y, x) integer codes on a GeoBox; codes outside ``class_values`` are not
    counted. The unit dimension is numbered 0 … n_units - 1 (unit i is code i + 1 of ``units``)."""
    geobox = _check_grid(classes)
    values = list(class_values)

    def table(block: np.ndarray, unit_codes: np.ndarray, area: np.ndarray) -> np.ndarray:
        flat = block.reshape(-1, *block.shape[-2:])
        parts = [
            class_area_by_unit(b, unit_codes, area, n_units=n_units, class_values=values)
            for b in flat
        ]
        return np.stack(parts).reshape((*block.shape[:-2], n_units, len(values)))

    lead_dims = classes.dims[:-2]
    data = _as_dask(classes)
    if lead_dims:
        data = data.rechunk(dict.fromkeys(range(len(lead_dims)), -1))
    summed = _zonal([data], geobox, units, n_units, len(values), table)
    coords = {d: classes.coords[d].values for d in lead_dims if d in classes.coords}
    return xr.DataArray(summed, dims=(*lead_dims, "unit", "class"),
                        coords={**coords, "unit": np.arange(n_units), "class": values})  # fmt: skip


def population_by_unit(
    population: xr.DataArray, units: UnitRaster, *, n_units: int, inside: xr.DataArray | None = None
) -> xr.DataArray:
    """float64 (unit, column) persons per unit: column ``total``, and ``inside`` the mask (lazy)."""
    geobox = _check_grid(population)
    values = _as_dask(population.astype("float64"))
    mask = _as_dask(
        xr.zeros_like(population, dtype=bool) if inside is None else inside.astype(bool)
    )
    mask = mask.rechunk(values.chunks)

    def table(
        block: np.ndarray, inside_block: np.ndarray, unit_codes: np.ndarray, area: np.ndarray
    ) -> np.ndarray:
        return _population_by_unit(block, unit_codes, n_units=n_units, inside=inside_block)

    summed = _zonal([values, mask], geobox, units, n_units, 2, table)
    return xr.DataArray(summed, dims=("unit", "column"),
                        coords={"unit": np.arange(n_units), "column": ["total", "inside"]})  # fmt: skip
