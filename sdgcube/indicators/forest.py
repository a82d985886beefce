"""SDG 15.1.1 forest kernels: forest, other land and non-land pixels, and the forest proportion.

Class codes (int8) of both classifiers:

* ``FOREST`` = 1: forest land;
* ``OTHER_LAND`` = 0: land that is not forest;
* ``NOT_LAND`` = 2: water bodies (not part of the land area the indicator divides by);
* ``NODATA`` = -1: no land-cover class, or no NDVI (cloud, fill).

Forest area as a proportion of total land area = forest km² / (forest + other land) km² × 100, in
percent (UN SDG metadata 15.1.1: land area excludes inland water bodies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdgcube.indicators._numba import ngjit

__all__ = [
    "FOREST",
    "NODATA",
    "NOT_LAND",
    "OTHER_LAND",
    "forest_from_land_cover",
    "forest_from_ndvi",
    "forest_proportion",
]

OTHER_LAND = 0
FOREST = 1
NOT_LAND = 2
NODATA = -1


@ngjit
def _classify(codes: np.ndarray, lookup: np.ndarray, out: np.ndarray) -> None:
    for i in range(codes.size):
        code = codes.flat[i]
        out.flat[i] = lookup[code] if 0 <= code < lookup.size else NODATA


def forest_from_land_cover(
    land_cover: np.ndarray,
    *,
    forest_classes: Sequence[int] = (1,),
    non_land_classes: Sequence[int] = (7,),
    nodata: int | None = 0,
) -> np.ndarray:
    """int8 forest classes of a land-cover raster (codes in the module doc).

    Defaults follow the UNCCD 7-class legend: 1 tree-covered is forest, 7 water body is not land,
    0 is nodata. Negative codes, ``nodata`` and codes above 255 give ``NODATA``; every other code is
    other land."""
    if not np.issubdtype(land_cover.dtype, np.integer):
        raise ValueError(f"land_cover must hold integer class codes, not {land_cover.dtype}")
    outside = sorted(c for c in (*forest_classes, *non_land_classes) if not 0 <= c <= 255)
    if outside:
        raise ValueError(f"class codes {outside} are outside 0-255")
    overlap = set(forest_classes) & set(non_land_classes)
    if overlap:
        raise ValueError(f"classes {sorted(overlap)} cannot be both forest and non-land")
    lookup = np.full(256, OTHER_LAND, dtype=np.int8)
    lookup[list(forest_classes)] = FOREST
    lookup[list(non_land_classes)] = NOT_LAND
    if nodata is not None and 0 <= nodata < lookup.size:
        lookup[nodata] = NODATA
    out = np.empty(land_cover.shape, dtype=np.int8)
    _classify(np.ascontiguousarray(land_cover), lookup, out)
    return out


def forest_from_ndvi(
    ndvi: np.ndarray, *, forest_threshold: float = 0.7, land_threshold: float = 0.0
) -> np.ndarray:
    """int8 forest classes from NDVI: ``NOT_LAND`` below ``land_threshold`` (water has negative NDVI),
    ``FOREST`` at or above ``forest_threshold``, ``OTHER_LAND`` between, ``NODATA`` where NaN."""
    if forest_threshold <= land_threshold:
        raise ValueError(
            f"forest_threshold {forest_threshold} must exceed land_threshold {land_threshold}"
        )
    values = np.asarray(ndvi)
    out = np.full(values.shape, OTHER_LAND, dtype=np.int8)
    out[values >= forest_threshold] = FOREST
    out[values < land_threshold] = NOT_LAND
    out[np.isnan(values)] = NODATA
    return out


def forest_proportion(
    forest_km2: np.ndarray | float, other_land_km2: np.ndarray | float
) -> np.ndarray:
    """float64 forest area as a percentage of land area (forest + other land); NaN where no land."""
    forest = np.asarray(forest_km2, dtype=np.float64)
    land = forest + np.asarray(other_land_km2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(land > 0, forest / land * 100.0, np.nan)
