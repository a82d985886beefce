"""Vector-store fixtures: one index per backend, and small vector files written with fiona."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fiona
import pytest
from shapely.geometry import box, mapping

from sdgcube.datacube.database import resolve_index
from sdgcube.datacube.vectors import VectorStore, vector_store_at
from sdgcube.settings import Settings

Feature = tuple[dict[str, Any], dict[str, Any]]
_FIONA_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


@pytest.fixture(scope="session")
def vector_settings(bare_settings: Settings) -> Settings:
    return bare_settings


@pytest.fixture(scope="session")
def store(vector_settings: Settings) -> Iterator[VectorStore]:
    with vector_store_at(resolve_index(vector_settings).url) as opened:
        yield opened


def squares(count: int, *, size: float = 1.0, x0: float = 0.0, y0: float = 0.0) -> list[Feature]:
    """A row of ``count`` unit squares from (x0, y0) eastwards, ``code`` U1…, ``n`` 1…, ``half`` n/2."""
    return [
        (mapping(box(x0 + i * size, y0, x0 + (i + 1) * size, y0 + size)),
         {"code": f"U{i + 1}", "n": i + 1, "half": (i + 1) / 2})
        for i in range(count)
    ]  # fmt: skip


@pytest.fixture
def write_vectors(tmp_path: Path) -> Callable[..., Path]:
    """Write features to a vector file: ``write_vectors("a.gpkg", features, crs=..., layer=...)``.

    The driver follows the suffix (.geojson, .gpkg, .shp); ``crs=None`` writes no CRS (for a
    shapefile: no .prj). Property types come from the first feature."""
    drivers = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}

    def write(
        name: str, features: list[Feature], *, crs: str | None = "EPSG:4326", layer: str | None = None,
        geometry: str | None = None,
    ) -> Path:  # fmt: skip
        path = tmp_path / name
        first = features[0][1]
        schema = {
            "geometry": geometry or features[0][0]["type"],
            "properties": {key: _FIONA_TYPES[type(value)] for key, value in first.items()},
        }
        with fiona.open(
            path, "w", driver=drivers[path.suffix], schema=schema, crs=crs, layer=layer
        ) as dst:
            dst.writerecords({"geometry": geom, "properties": props} for geom, props in features)
        return path

    return write
