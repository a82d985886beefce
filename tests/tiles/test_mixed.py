"""A product like a processing result: one float band, datasets in two CRSs, a newer dataset on top.

Its own index, so the demo archive shared by other tests stays as it is. Layout (UTM 60 S metres):
A covers x 597–600 km in EPSG:32760, B covers x 600–603 km in EPSG:4326, both dated 2020; C covers
the west half of A, dated 2021.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.warp import transform, transform_bounds

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.index import init_index
from sdgcube.datacube.ingest import ingest_file
from sdgcube.settings import Settings
from sdgcube.tiles import create_tiles_app, render_defaults
from sdgcube.tiles.catalog import select
from sdgcube.tiles.overviews import OverviewStore
from tests.tiles.helpers import as_npy, as_rgba, tile_at

pytestmark = pytest.mark.slow

UTM = "EPSG:32760"
TOP = 8_053_000.0


def _write(path: Path, values: np.ndarray, crs: str, transform_: Affine) -> Path:
    profile = {"driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
               "dtype": "float32", "crs": crs, "transform": transform_, "nodata": -9999.0}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32), 1)
        dst.set_band_description(1, "ndvi")
    return path


def _utm_raster(folder: Path, name: str, left: float, width_px: int, values: np.ndarray) -> Path:
    return _write(
        folder / f"{name}.tif",
        np.broadcast_to(values, (100, width_px)),
        UTM,
        Affine(30, 0, left, 0, -30, TOP),
    )


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = transform(UTM, "EPSG:4326", [x], [y])
    return lon[0], lat[0]


@pytest.fixture(scope="module")
def mixed(backend: str, make_settings: Callable[[str], Settings], tmp_path_factory) -> Cube:
    settings = make_settings(backend)
    cube = Cube(init_index(settings), settings)
    src = tmp_path_factory.mktemp("mixed-src")
    a = _utm_raster(src, "a", 597_000, 100, np.linspace(0.2, 0.3, 100))
    west, south, east, north = transform_bounds(UTM, "EPSG:4326", 600_000, TOP - 3000, 603_000, TOP)
    b = _write(src / "b.tif", np.full((100, 100), 0.8), "EPSG:4326",
               Affine((east - west) / 100, 0, west, 0, -(north - south) / 100, north))  # fmt: skip
    c = _utm_raster(src, "c", 597_000, 50, np.linspace(0.4, 0.6, 50))
    for path, year in ((a, 2020), (b, 2020), (c, 2021)):
        ingest_file(
            cube.dc,
            settings.archive_dir,
            path,
            product="tiles_ndvi",
            when=datetime(year, 3, 1, tzinfo=UTC),
        )
    return cube


@pytest.fixture(scope="module")
def mixed_client(mixed: Cube) -> TestClient:
    return TestClient(create_tiles_app(mixed.settings, cube=mixed))


def _point(client: TestClient, x: float, y: float, time: str | None = None):
    lon, lat = _lonlat(x, y)
    return client.get(
        f"/collections/tiles_ndvi/point/{lon},{lat}" + (f"?datetime={time}" if time else "")
    )


def test_datasets_in_two_crss_mosaic_into_one_tile(mixed_client):
    lon, lat = _lonlat(600_000, TOP - 1500)
    (values,), valid = as_npy(mixed_client.get(
        f"/collections/tiles_ndvi/tiles/WebMercatorQuad/{tile_at(lon, lat, 14)}.npy?datetime=2020&bands=ndvi"))  # fmt: skip
    assert values.dtype == np.float32
    assert (np.abs(values[valid] - 0.8) < 1e-6).any()  # from B, in EPSG:4326
    assert ((values[valid] >= 0.2) & (values[valid] <= 0.3)).any()  # from A, in UTM
    assert _point(mixed_client, 601_500, TOP - 1500, "2020").json()["values"] == [
        pytest.approx(0.8)
    ]


def test_newest_dataset_wins_within_the_selection(mixed_client):
    under_c, only_a, only_b = (597_500, TOP - 1500), (599_500, TOP - 1500), (601_500, TOP - 1500)
    assert 0.4 <= _point(mixed_client, *under_c, "2020/2021").json()["values"][0] <= 0.6
    assert 0.2 <= _point(mixed_client, *under_c, "2020").json()["values"][0] <= 0.3
    assert 0.2 <= _point(mixed_client, *only_a, "2020/2021").json()["values"][0] <= 0.3
    # By default only the latest time slice (C, 2021) is shown: B's ground is outside it.
    assert _point(mixed_client, *only_b).status_code == 404
    lon, lat = _lonlat(*only_b)
    assert (
        mixed_client.get(
            f"/collections/tiles_ndvi/tiles/WebMercatorQuad/{tile_at(lon, lat, 15)}.png"
        ).status_code
        == 404
    )


def test_products_without_a_style_get_a_percentile_stretch(mixed, mixed_client):
    defaults = render_defaults(mixed, "tiles_ndvi")
    low, high = map(float, defaults.pop("rescale").split(","))
    assert defaults == {"bands": "ndvi", "colormap_name": "viridis"}
    assert 0.4 <= low < high <= 0.6  # C's values: the latest time slice
    lon, lat = _lonlat(597_750, TOP - 1500)
    rgba = as_rgba(
        mixed_client.get(
            f"/collections/tiles_ndvi/tiles/WebMercatorQuad/{tile_at(lon, lat, 15)}.png"
        )
    )
    assert (rgba[..., 3] > 0).mean() > 0.5 and len(np.unique(rgba[..., 0][rgba[..., 3] > 0])) > 3


def test_overview_follows_the_datasets_of_its_time_slice(mixed, tmp_path):
    """A new dataset on the same day changes the fingerprint: a new overview, the stale one removed."""
    store = OverviewStore(tmp_path)
    day = datetime(2022, 5, 1, tzinfo=UTC)
    first = _utm_raster(tmp_path, "g1", 597_000, 50, np.full(50, 0.1))
    ingest_file(mixed.dc, mixed.settings.archive_dir, first, product="tiles_grow", when=day)
    before = store.ensure(mixed, select(mixed, "tiles_grow", None))
    second = _utm_raster(tmp_path, "g2", 600_000, 50, np.full(50, 0.9))
    ingest_file(mixed.dc, mixed.settings.archive_dir, second, product="tiles_grow", when=day)
    selection = select(mixed, "tiles_grow", None)
    after = store.ensure(mixed, selection)
    assert after != before and after.exists() and not before.exists()
    with rasterio.open(after) as overview:
        assert overview.tags()["SDGCUBE_DATASETS"] == "2"
        values = overview.read(1)
    present = values[~np.isnan(values)]
    assert np.isclose(present, 0.1).any() and np.isclose(present, 0.9).any()
