"""Overviews: low zooms read one file, and show what the datasets show."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import rasterio

from sdgcube.tiles import build_overviews
from sdgcube.tiles import overviews as overviews_module
from sdgcube.tiles import reader as reader_module
from sdgcube.tiles.catalog import select
from sdgcube.tiles.overviews import OverviewStore
from sdgcube.tiles.reader import ProductReader, TileSource
from tests.tiles.helpers import WEB_MERCATOR, centre, tile_at

pytestmark = pytest.mark.slow


def _tile(cube, product, store, zoom, *, bands, time="2020", datasets_only=False, monkeypatch=None):
    if datasets_only:
        monkeypatch.setattr(reader_module, "use_overview", lambda *args, **kwargs: False)
    tile = WEB_MERCATOR.tile(*centre(cube, product), zoom)
    source = TileSource(select(cube, product, time), cube, store, max_pixels=10**8)
    image = ProductReader(source).tile(tile.x, tile.y, tile.z, bands=bands)
    monkeypatch and monkeypatch.undo()
    return image.array


def test_low_zoom_tile_reads_one_file_once_built(client, demo, monkeypatch):
    cube, _ = demo
    assert len(cube.datasets("hires_rgb")) > 1
    url = (
        f"/collections/hires_rgb/tiles/WebMercatorQuad/{tile_at(*centre(cube, 'hires_rgb'), 0)}.npy"
    )
    first = client.get(url)  # builds the overview if no test did so before
    opened: list[str] = []
    real_open = rasterio.open
    monkeypatch.setattr(
        rasterio, "open", lambda fp, *a, **k: opened.append(str(fp)) or real_open(fp, *a, **k)
    )
    again = client.get(url)
    assert again.content == first.content
    (overview,) = opened
    assert overview.startswith(str(cube.settings.data_dir / "cache" / "overviews" / "hires_rgb"))


@pytest.mark.parametrize(
    ("product", "band", "zoom"), [("hires_rgb", "red", 17), ("land_cover", "land_cover", 12)]
)
def test_overview_tile_equals_the_dataset_mosaic(demo, tmp_path, monkeypatch, product, band, zoom):
    """Where the overview is as detailed as the tile, it shows the datasets' values.

    Classes match pixel for pixel; continuous values within resampling tolerance (the overview COG
    averages its own internal overviews, the datasets are read with nearest neighbour)."""
    cube, _ = demo
    store = OverviewStore(tmp_path)
    from_overview = _tile(cube, product, store, zoom, bands=[band])
    assert list(tmp_path.glob(f"{product}/*.tif")), "the overview should have been used"
    from_datasets = _tile(
        cube, product, store, zoom, bands=[band], datasets_only=True, monkeypatch=monkeypatch
    )
    assert from_overview.dtype == from_datasets.dtype
    assert (from_overview.mask == from_datasets.mask).mean() > 0.99  # edges may differ by a pixel
    both = ~from_overview.mask & ~from_datasets.mask
    a, b = from_overview.data[both].astype(float), from_datasets.data[both].astype(float)
    if cube.product(product).measurements[band].get("flags_definition"):
        assert (a == b).mean() > 0.99
    else:
        assert np.median(np.abs(a - b)) < 0.05 * (np.percentile(b, 98) - np.percentile(b, 2))


@pytest.mark.parametrize(
    ("product", "band", "zoom"), [("land_cover", "land_cover", 10), ("sr_annual", "red", 10)]
)
def test_coarse_overview_resembles_the_dataset_mosaic(
    demo, tmp_path, monkeypatch, product, band, zoom
):
    """An overview 4× coarser than the data (forced by a small ``max_side``) still shows the same map."""
    cube, _ = demo
    store = OverviewStore(tmp_path, max_side=50)
    assert store.resolution(select(cube, product, "2020")) == 120.0
    coarse = _tile(cube, product, store, zoom, bands=[band])
    fine = _tile(
        cube, product, store, zoom, bands=[band], datasets_only=True, monkeypatch=monkeypatch
    )
    both = ~coarse.mask & ~fine.mask
    assert both.sum() > 0.9 * (~fine.mask).sum()
    if product == "land_cover":
        assert (coarse.data[both] == fine.data[both]).mean() > 0.6
    else:
        spread = np.percentile(fine.data[both], 98) - np.percentile(fine.data[both], 2)
        assert np.median(np.abs(coarse.data[both].astype(float) - fine.data[both])) < 0.1 * spread


def test_build_overviews_writes_every_band_once(demo):
    cube, _ = demo
    path = build_overviews(cube, "sr_annual", datetime="2010")
    assert path == build_overviews(
        cube, "sr_annual", datetime="2010-07-01"
    )  # same datasets, same file
    selection = select(cube, "sr_annual", "2010")
    with rasterio.open(path) as overview:
        assert overview.descriptions == tuple(b.name for b in selection.bands)
        assert overview.tags()["SDGCUBE_FINGERPRINT"] == selection.fingerprint
        assert float(overview.tags(3)["STATISTICS_P2"]) < float(overview.tags(3)["STATISTICS_P98"])
        assert overview.crs == "EPSG:32760" and overview.res == (30.0, 30.0)


def test_concurrent_requests_build_an_overview_once(demo, tmp_path, monkeypatch):
    cube, _ = demo
    store = OverviewStore(tmp_path)
    selection = select(cube, "built_up", None)
    builds: list[str] = []
    real_build = overviews_module._build
    monkeypatch.setattr(overviews_module, "_build", lambda *a: builds.append("x") or real_build(*a))
    start = threading.Barrier(4)
    paths: list[object] = []

    def ensure() -> None:
        start.wait()
        paths.append(store.ensure(cube, selection))

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["x"] and len(set(paths)) == 1 and store.path(selection).exists()
