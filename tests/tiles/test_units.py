"""Pure parts of the tiler, as tables: overview choice, band names, clipping, caching, safe opening."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rio_tiler.errors import InvalidExpression, TileOutsideBounds

from sdgcube.datacube.bands import ProductBands
from sdgcube.errors import InvalidRequest
from sdgcube.tiles._bands import requested_bands, rewrite_expression
from sdgcube.tiles._io import Area, buffered, clip, open_asset
from sdgcube.tiles._ttl import TtlCache
from sdgcube.tiles.catalog import DatasetRef, Selection, geographic_area
from sdgcube.tiles.dependencies import BandsExprParams
from sdgcube.tiles.overviews import overview_resolution, use_overview
from sdgcube.tiles.render import colormaps, render_config


@pytest.mark.parametrize(
    ("native", "side_px", "max_side", "expected"),
    [
        (30.0, 200, 2048, 30.0),  # fits: native resolution
        (30.0, 2048, 2048, 30.0),  # exactly fits
        (30.0, 2049, 2048, 60.0),  # one pixel more: next power of two
        (10.0, 100_000, 2048, 640.0),  # 100 000 / 64 = 1562 px
        (0.5, 512, 64, 4.0),
    ],
)
def test_overview_resolution(native, side_px, max_side, expected):
    bounds = (0.0, 0.0, native * side_px, native * side_px / 2)
    assert overview_resolution(native, bounds, max_side) == expected


@pytest.mark.parametrize(
    ("pixel", "overview", "datasets", "expected"),
    [
        (30.0, 30.0, 1, True),  # as detailed as the request: always
        (60.0, 30.0, 1, True),
        (29.9, 30.0, 1, False),  # finer than the overview: read the data
        (10.0, 40.0, 17, True),  # many datasets, overview at most 4× coarser
        (10.0, 40.0, 16, False),  # not that many
        (9.9, 40.0, 100, False),  # more than 4× coarser: read the data anyway
    ],
)
def test_use_overview(pixel, overview, datasets, expected):
    assert use_overview(pixel, overview, datasets) is expected


def _selection(*names: str, aliases: dict[str, tuple[str, ...]] | None = None) -> Selection:
    bands = ProductBands.of(
        "p",
        {
            n: {"dtype": "int16", "nodata": -9999, "aliases": (aliases or {}).get(n, ())}
            for n in names
        },
    )
    ref = DatasetRef(
        "a",
        datetime(2020, 1, 1, tzinfo=UTC),
        "EPSG:4326",
        (0, 0, 1, 1),
        shapely.box(0, 0, 1, 1),
        {},
    )
    return Selection("p", bands, (ref,), ("2020", "2020"), "EPSG:4326", 1.0, (0, 0, 1, 1))


@pytest.mark.parametrize(
    ("bands", "expression", "expected"),
    [
        (None, None, ["blue", "red", "nir08"]),  # nothing asked: every band
        (["nir08", "red"], None, ["nir08", "red"]),  # order as asked
        (["nir"], None, ["nir08"]),  # alias
        (["red"], "(nir08-red)/(nir08+red)", ["nir08", "red"]),  # the expression wins
        (
            None,
            "where(NIR08 > 0, red, 0)",
            ["nir08", "red"],
        ),  # case-insensitive; functions are not bands
        (None, "b1 * 2", ["blue"]),  # a provider alias that looks like rio-tiler's own names
    ],
)
def test_requested_bands(bands, expression, expected):
    selection = _selection("blue", "red", "nir08", aliases={"nir08": ("nir",), "blue": ("b1",)})
    assert [b.name for b in requested_bands(selection, bands, expression)] == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(nir08-red)/(nir08+red)", "(b1-b2)/(b1+b2)"),
        ("(nir-red)/(nir+red);red", "(b1-b2)/(b1+b2);b2"),
        ("where(nir08 > red, 1, 0)", "where(b1 > b2, 1, 0)"),
    ],
)
def test_rewrite_expression(expression, expected):
    selection = _selection("red", "nir08", aliases={"nir08": ("nir",)})
    bands = requested_bands(selection, None, expression)
    assert rewrite_expression(selection, expression, bands) == expected


@pytest.mark.parametrize(
    ("bands", "expression", "error"),
    [
        (["swir"], None, InvalidRequest),
        (None, "red + ndvi", InvalidRequest),
        (None, "red +", InvalidExpression),
        (None, "__import__('os')", InvalidExpression),
        (None, "red.real", InvalidExpression),
    ],
)
def test_bad_bands_and_expressions(bands, expression, error):
    with pytest.raises(error):
        requested_bands(_selection("red", "nir08"), bands, expression)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        (["red,green", "blue"], ["red", "green", "blue"]),
        (["red"], ["red"]),
        ([" , "], None),
    ],
)
def test_bands_parameter_takes_both_forms(given, expected):
    assert BandsExprParams(bands=given).bands == expected


def test_clip_keeps_the_area_pixel_grid():
    area = Area((0.0, 0.0, 256.0, 256.0), CRS.from_epsg(3857), 256, 256)
    sub, rows, cols = clip(area, (10.5, 100.0, 20.2, 200.0), "EPSG:3857")
    assert (rows, cols) == (slice(56, 156), slice(10, 21))
    assert sub.bounds == (10.0, 100.0, 21.0, 200.0) and (sub.width, sub.height) == (11, 100)
    with pytest.raises(TileOutsideBounds):
        clip(area, (300.0, 300.0, 400.0, 400.0), "EPSG:3857")


def test_buffer_grows_the_area_by_whole_and_half_pixels():
    area = Area((0.0, 0.0, 256.0, 256.0), CRS.from_epsg(3857), 256, 256)
    grown = buffered(area, 0.5)
    assert (grown.width, grown.height) == (257, 257) and grown.bounds == (-0.5, -0.5, 256.5, 256.5)
    assert buffered(area, None) is area


def test_ttl_cache_computes_once_per_key_and_expires():
    calls: list[str] = []
    gate = threading.Event()

    def compute(key: str) -> str:
        gate.wait(5)
        calls.append(key)
        return key.upper()

    cache: TtlCache[str, str] = TtlCache(compute, ttl=60)
    threads = [threading.Thread(target=cache.get, args=("a",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert cache.get("a") == "A" and calls == ["a"]
    expired: TtlCache[str, str] = TtlCache(compute, ttl=0)
    expired.get("b"), expired.get("b")
    assert calls.count("b") == 2


def test_ttl_cache_does_not_keep_errors():
    outcomes = iter([ValueError("first"), "ok"])

    def compute(key: str) -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cache: TtlCache[str, str] = TtlCache(compute, ttl=60)
    with pytest.raises(ValueError, match="first"):
        cache.get("k")
    assert cache.get("k") == "ok"


def test_only_raster_drivers_open(make_raster, tmp_path):
    tif = make_raster(np.ones((4, 4), np.uint8))
    with open_asset(str(tif)) as dataset:
        assert dataset.driver == "GTiff"
    vrt = (
        f'<VRTDataset rasterXSize="4" rasterYSize="4"><VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
        f"<SourceFilename>{tif}</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    )
    for name in ("band.vrt", "disguised.tif"):
        (tmp_path / name).write_text(vrt)
        with pytest.raises(RasterioIOError):
            open_asset(str(tmp_path / name))
    with pytest.raises(RasterioIOError):
        open_asset("/etc/passwd")


def test_render_yaml_names_known_colormaps():
    known = set(colormaps().list())
    config = render_config()
    assert {spec.colormap_name for spec in config.products.values() if spec.colormap_name} <= known
    assert config.fallback.colormap_name in known
    land_cover = colormaps().get("sdgcube_land_cover")
    assert sorted(land_cover) == [1, 2, 3, 4, 5, 6, 7] and 0 not in land_cover


@pytest.mark.parametrize(
    ("bounds", "crs", "expected"),
    [
        ((597_000, 8_047_000, 603_000, 8_053_000), "EPSG:32760", [(177.914, -17.662, 177.971, -17.607)]),
        # A UTM 1 S box straddling 180°: two parts, one on each side.
        ((100_000, 8_000_000, 300_000, 8_100_000), "EPSG:32701",
         [(-180.0, -18.079, -178.88, -17.15), (179.223, -18.079, 180.0, -17.15)]),
        ((-20_037_508.34, -20_037_508.34, 20_037_508.34, 20_037_508.34), "EPSG:3857", [(-180, -85.051, 180, 85.051)]),
        ((0, 0, 1, 1), "EPSG:4326", [(0, 0, 1, 1)]),
    ],
)  # fmt: skip
def test_geographic_area(bounds, crs, expected):
    area = geographic_area(bounds, crs)
    parts = sorted(getattr(area, "geoms", [area]), key=lambda g: g.bounds)
    assert [tuple(round(v, 3) for v in p.bounds) for p in parts] == [
        pytest.approx(e, abs=1e-3) for e in expected
    ]
