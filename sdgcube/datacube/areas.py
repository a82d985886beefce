"""The area of every pixel of a grid on the WGS 84 ellipsoid, in km².

Indicator areas are reported on the ellipsoid, not in projected units: a 30 m UTM pixel is
0.0009 km² only on the central meridian, and a Web Mercator pixel's projected area is measured on a
sphere. A projected pixel's sides are taken to longitude and latitude on a coarse lattice (its area
varies slowly) and multiplied by the ellipsoid's area element there, then expanded to the grid.
"""

from __future__ import annotations

import numpy as np
from odc.geo.geobox import GeoBox
from pyproj import Geod, Transformer

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


def _lon_lat(geobox: GeoBox, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d, e, f = geobox.affine[:6]
    xs, ys = a * cols + b * rows + c, d * cols + e * rows + f
    transformer = Transformer.from_crs(geobox.crs, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


def _km2_per_square_degree(lat: np.ndarray) -> np.ndarray:
    """The ellipsoid's area element M·N·cos φ, per degree of longitude and latitude, in km²."""
    phi = np.radians(lat)
    w = 1.0 - _GEOD.es * np.sin(phi) ** 2
    meridian = _GEOD.a * (1.0 - _GEOD.es) / w**1.5
    normal = _GEOD.a / np.sqrt(w)
    return meridian * normal * np.cos(phi) * np.radians(1.0) ** 2 / 1e6


def pixel_area_km2(geobox: GeoBox) -> np.ndarray:
    """float64 (y, x) area of each pixel in km² on the WGS 84 ellipsoid."""
    if geobox.crs is None:
        raise ValueError("pixel areas need a grid with a CRS")
    if geobox.crs.geographic:
        return _geographic_rows(geobox)
    ny, nx = geobox.shape
    rows = np.arange(_STEP // 2, ny + _STEP, _STEP).clip(max=ny - 1) + 0.5
    cols = np.arange(_STEP // 2, nx + _STEP, _STEP).clip(max=nx - 1) + 0.5
    c, r = np.meshgrid(cols, rows)
    # The pixel's sides in longitude and latitude (central differences), not the projection's own
    # scale factor: Proj gives that on the projection's figure, a sphere for Web Mercator.
    lon_e, lat_e = _lon_lat(geobox, c + 0.5, r)
    lon_w, lat_w = _lon_lat(geobox, c - 0.5, r)
    lon_s, lat_s = _lon_lat(geobox, c, r + 0.5)
    lon_n, lat_n = _lon_lat(geobox, c, r - 0.5)
    dlon_col, dlon_row = (
        (a - b + 180.0) % 360.0 - 180.0 for a, b in ((lon_e, lon_w), (lon_s, lon_n))
    )
    determinant = np.abs(dlon_col * (lat_s - lat_n) - dlon_row * (lat_e - lat_w))
    lattice = determinant * _km2_per_square_degree((lat_e + lat_w + lat_s + lat_n) / 4)
    expanded = np.repeat(np.repeat(lattice, _STEP, axis=0), _STEP, axis=1)
    return expanded[:ny, :nx]
