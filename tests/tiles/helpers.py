"""Helpers of the tiles tests: where the demo data is, and decoding tiles."""

from __future__ import annotations

import io

import httpx
import morecantile
import numpy as np
from PIL import Image

from sdgcube.datacube.cube import Cube

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def centre(cube: Cube, product: str) -> tuple[float, float]:
    """Longitude and latitude of the middle of a product's newest dataset."""
    point = cube.datasets(product)[-1].extent.centroid.to_crs("EPSG:4326")
    lon, lat = point.coords[0]
    return lon, lat


def tile_at(lon: float, lat: float, zoom: int) -> str:
    """``z/x/y`` of the Web Mercator tile holding a point."""
    tile = WEB_MERCATOR.tile(lon, lat, zoom)
    return f"{tile.z}/{tile.x}/{tile.y}"


def as_npy(response: httpx.Response) -> tuple[np.ndarray, np.ndarray]:
    """Data bands and validity (True = data) of an ``.npy`` tile, whose last band is the mask."""
    assert response.status_code == 200, response.text
    array = np.load(io.BytesIO(response.content))
    return array[:-1], array[-1] > 0


def as_rgba(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))
