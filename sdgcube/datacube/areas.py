"""The area of every pixel of a grid on the WGS 84 ellipsoid, in km².

Indicator areas are reported on the ellipsoid, not in projected units: a 30 m UTM pixel is
0.0009 km² only on the central meridian. The areal scale factor of the projection is evaluated on
a coarse lattice (it varies slowly) and expanded to the grid.
"""

from __future__ import annotations

import numpy as np
from odc.geo.geobox import GeoBox
from odc.geo.math import apply_affine
from pyproj import Geod, Proj, Transformer

from sdgcube.errors import InvalidRequest

__all__ = ["pixel_area_km2"]

_GEOD = Geod(ellps="WGS84")
_STEP = 32
"""Pixels between lattice points where the scale factor is evaluated."""


def _geographic_rows(geobox: GeoBox) -> np.ndarray:
    affine = geobox.affine
    ny, nx = geobox.shape
    areas = np.empty(ny)
    for row in range(ny):
        top = affine.f + row * affine.e
        lons = [affine.c, affine.c + affine.a, affine.c + affine.a, affine.c]
        lats = [top, top, top + affine.e, top + affine.e]
        areas[row] = abs(_GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e6
    return np.repeat(areas[:, np.newaxis], nx, axis=1)


def pixel_area_km2(geobox: GeoBox) -> np.ndarray:
    """float64 (y, x) area of each pixel in km² on the WGS 84 ellipsoid."""
    crs = geobox.crs
    if crs is None:
        raise InvalidRequest(f"pixel areas need a grid with a CRS, not {geobox!r}")
    if crs.geographic:
        return _geographic_rows(geobox)
    ny, nx = geobox.shape
    rows = np.arange(_STEP // 2, ny + _STEP, _STEP).clip(max=ny - 1)
    cols = np.arange(_STEP // 2, nx + _STEP, _STEP).clip(max=nx - 1)
    xs, ys = apply_affine(geobox.affine, *np.meshgrid(cols + 0.5, rows + 0.5))
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    scale = Proj(crs.to_wkt()).get_factors(lon, lat).areal_scale
    projected_km2 = abs(geobox.affine.a * geobox.affine.e) / 1e6
    lattice = projected_km2 / np.asarray(scale).reshape(len(rows), len(cols))
    expanded = np.repeat(np.repeat(lattice, _STEP, axis=0), _STEP, axis=1)
    return expanded[:ny, :nx]
