"""MapProxy's configuration from product summaries, loaded by MapProxy itself and, with the renderer
replaced by a stub, serving tiles per TIME value."""

from __future__ import annotations

import dataclasses
import io
import threading
from datetime import datetime
from pathlib import Path
from time import monotonic, sleep
from urllib.parse import parse_qs, urlparse

import morecantile
import pytest
import yaml
from odc.geo.crs import CRS
from PIL import Image

from sdgcube.datacube.bands import Band
from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.cube import NativeGrid
from sdgcube.settings import Settings
from sdgcube.tiles.mapproxy_config import mapproxy_config, time_values

INTERNAL = "http://127.0.0.1:5999"
_BANDS = (Band.of("value", {"dtype": "float32"}),)
_BBOX = (178.1, -41.5, 178.5, -41.2)


def _summary(
    name, times, *, count=None, crs="EPSG:32760", bbox=_BBOX, description="A product. With detail."
):
    grid = NativeGrid(CRS(crs), 30.0, 30.0, 0.0, 0.0) if bbox else None
    return ProductSummary(
        name=name, description=description, bands=_BANDS, dataset_count=len(times) if count is None else count,
        bbox=bbox, times=tuple(times), grid=grid, native_bbox=(600000.0, 5400000.0, 630000.0, 5430000.0) if bbox else None,
        content_key=f"{name}-{len(times)}",
    )  # fmt: skip


YEARS = [datetime(2010, 7, 1), datetime(2011, 7, 1), datetime(2012, 7, 1, 10, 30)]
PRODUCTS = [
    _summary("sr_annual", YEARS, description="Annual surface reflectance. Landsat-like."),
    _summary("dem", [datetime(2000, 1, 1)], crs="EPSG:4326"),
    _summary("water", [datetime(2020, 7, 1)] * 1, count=4, crs="EPSG:3857"),
    _summary("empty", [], bbox=None),
]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def config(settings) -> dict:
    return mapproxy_config(settings, PRODUCTS, internal_url=INTERNAL)


def test_a_layer_per_product_with_data(config):
    assert [layer["name"] for layer in config["layers"]] == ["sr_annual", "dem", "water"]
    assert set(config["sources"]) == {"sr_annual_wms", "dem_wms", "water_wms"}
    assert set(config["caches"]) == {"sr_annual_cache", "dem_cache", "water_cache"}
    layer = config["layers"][0]
    assert layer["title"] == "Annual surface reflectance"
    assert layer["sources"] == ["sr_annual_cache"]
    assert config["caches"]["sr_annual_cache"]["sources"] == ["sr_annual_wms"]


def test_time_dimension_only_with_several_slices(config):
    layers = {layer["name"]: layer for layer in config["layers"]}
    assert layers["sr_annual"]["dimensions"] == {
        "time": {"values": ["2010-07-01", "2011-07-01", "2012-07-01"], "default": "2012-07-01"}
    }
    assert "dimensions" not in layers["dem"] and "dimensions" not in layers["water"]


def test_time_values_are_sorted_unique_dates():
    summary = _summary(
        "x", [datetime(2012, 1, 1), datetime(2010, 5, 5, 23), datetime(2010, 5, 5, 1)]
    )
    assert time_values(summary) == ["2010-05-05", "2012-01-01"]


def test_source_is_the_renderers_wms(config):
    source = config["sources"]["sr_annual_wms"]
    assert source["type"] == "wms"
    assert source["req"] == {
        "url": f"{INTERNAL}/tiles/collections/sr_annual/wms",
        "layers": "sr_annual",
        "transparent": True,
    }
    assert source["forward_req_params"] == ["time"]
    assert source["on_error"][404] == {"response": "transparent", "cache": True}
    assert source["coverage"] == {"bbox": list(_BBOX), "srs": "EPSG:4326"}


def test_native_crs_are_offered_once(config):
    srs = config["services"]["wms"]["srs"]
    assert srs[:4] == ["EPSG:3857", "EPSG:900913", "EPSG:4326", "CRS:84"]
    assert (
        srs.count("EPSG:32760") == 1 and srs.count("EPSG:4326") == 1 and srs.count("EPSG:3857") == 1
    )
    assert len(srs) == len(set(srs)) == 5


def test_cache_directories(config, settings):
    base = settings.data_dir / "cache" / "mapproxy"
    assert config["globals"]["cache"]["base_dir"] == str(base)
    assert config["globals"]["cache"]["lock_dir"] == str(base / "locks")
    directory = Path(config["caches"]["sr_annual_cache"]["cache"]["directory"])
    assert directory == base / "sr_annual" / "sr_annual-3"


def _directory(settings, summary) -> str:
    config = mapproxy_config(settings, [summary], internal_url=INTERNAL)
    return config["caches"][f"{summary.name}_cache"]["cache"]["directory"]


@pytest.mark.parametrize(
    ("change", "moves"),
    [
        ({}, False),
        ({"content_key": "another-set-of-datasets"}, True),
        ({"description": "Renamed."}, False),
    ],
)
def test_cache_directory_follows_the_content(settings, change, moves):
    summary = PRODUCTS[0]
    assert (
        _directory(settings, dataclasses.replace(summary, **change))
        != _directory(settings, summary)
    ) is moves


def test_the_template_is_not_modified(settings):
    first = mapproxy_config(settings, PRODUCTS, internal_url=INTERNAL)
    second = mapproxy_config(settings, PRODUCTS[:1], internal_url="http://other")
    assert [layer["name"] for layer in second["layers"]] == ["sr_annual"]
    assert set(second["sources"]) == {"sr_annual_wms"}
    assert second["services"]["wms"]["srs"].count("EPSG:32760") == 1
    assert len(first["layers"]) == 3


def test_no_products_is_a_valid_empty_config(settings):
    config = mapproxy_config(settings, [], internal_url=INTERNAL)
    assert config["layers"] == [] and config["sources"] == {} and config["caches"] == {}


def _write(config: dict, folder: Path) -> Path:
    path = folder / "mapproxy.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("products", [PRODUCTS, PRODUCTS[:1]], ids=["products", "one"])
def test_mapproxy_loads_it_without_warnings(settings, tmp_path, products):
    from mapproxy.config.loader import load_configuration
    from mapproxy.config.spec import validate_options
    from mapproxy.config.validator import validate

    path = _write(mapproxy_config(settings, products, internal_url=INTERNAL), tmp_path)
    document = yaml.safe_load(path.read_text())
    errors, valid = validate_options(document)
    assert (errors, valid) == ([], True)
    assert validate(document) == []
    configuration = load_configuration(str(path), ignore_warnings=False)
    assert sorted(configuration.layers) == sorted(p.name for p in products if p.bbox)


@pytest.mark.parametrize("products", [[], [PRODUCTS[-1]]], ids=["none", "only-empty"])
def test_a_cube_without_data_has_no_layers_and_the_host_answers_404(settings, tmp_path, products):
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from sdgcube.app.hosts import MapProxyHost

    config = mapproxy_config(settings, products, internal_url=INTERNAL)
    assert config["layers"] == []
    host = MapProxyHost(tmp_path)
    host.load(config)
    client = TestClient(Starlette(routes=[Mount("/mapproxy", host)]))
    response = client.get("/mapproxy/service?SERVICE=WMS&REQUEST=GetCapabilities")
    assert response.status_code == 404 and b"no map layers" in response.content


# --- MapProxy serving, with the renderer stubbed ---------------------------------------------------


class _Stub:
    """Stands in for the renderer: records each URL; answers a red PNG or an HTTP error."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.urls: list[str] = []
        self.hold: dict[str, threading.Event] = {}  # TIME -> answer once set

    def open(self, client, url, data=None, method=None, headers=None):
        from mapproxy.client.http import HTTPClientError

        self.urls.append(url)
        query = parse_qs(urlparse(url).query)
        if query["time"][0] in self.hold:
            self.hold[query["time"][0]].wait(30)
        if self.status != 200:
            raise HTTPClientError(f"HTTP Error {self.status}", response_code=self.status)
        size = int(query["width"][0]), int(query["height"][0])
        buffer = io.BytesIO()
        Image.new("RGBA", size, (255, 0, 0, 255)).save(buffer, "PNG")
        return _Response(buffer.getvalue())


class _Response:
    code = 200

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)
        self.headers = {"Content-type": "image/png", "content-type": "image/png"}

    def read(self, *size: int) -> bytes:
        return self._body.read(*size)


def _serve(settings, tmp_path, monkeypatch, status=200):
    from mapproxy.client.http import HTTPClient
    from werkzeug.test import Client

    from sdgcube.app.hosts import build_mapproxy

    stub = _Stub(status)
    # A bound method set on the class is not re-bound: the lambda hands the stub the client too.
    monkeypatch.setattr(HTTPClient, "open", lambda client, *a, **k: stub.open(client, *a, **k))  # noqa: PLW0108
    app = build_mapproxy(mapproxy_config(settings, PRODUCTS[:1], internal_url=INTERNAL), tmp_path)
    return Client(app), stub


def _get_tile(client, time=None):
    tile = morecantile.tms.get("WebMercatorQuad").tile(178.3, -41.4, 10)
    params = {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "sr_annual", "STYLE": "default",
              "FORMAT": "image/png", "TILEMATRIXSET": "webmercator", "TILEMATRIX": tile.z, "TILEROW": tile.y,
              "TILECOL": tile.x, **({"TIME": time} if time else {})}  # fmt: skip
    return client.get("/service", query_string=params)


def test_time_is_forwarded_and_cached_per_value(settings, tmp_path, monkeypatch):
    client, stub = _serve(settings, tmp_path, monkeypatch)
    for time in ("2010-07-01", "2011-07-01", None, "2010-07-01"):
        response = _get_tile(client, time)
        assert response.status_code == 200, response.data[:500]
        colours = {
            colour
            for _, colour in Image.open(io.BytesIO(response.data)).convert("RGBA").getcolors()
        }
        assert (
            255,
            0,
            0,
            255,
        ) in colours  # the renderer's pixels (transparent outside the coverage)
    times = [parse_qs(urlparse(url).query)["time"] for url in stub.urls]
    assert times == [
        ["2010-07-01"],
        ["2011-07-01"],
        ["2012-07-01"],
    ]  # the default is the latest; 2010 is cached
    assert all(urlparse(url).path == "/tiles/collections/sr_annual/wms" for url in stub.urls)
    cache = Path(
        mapproxy_config(settings, PRODUCTS[:1], internal_url=INTERNAL)["caches"]["sr_annual_cache"][
            "cache"
        ]["directory"]
    )
    folders = sorted(p.name for p in cache.iterdir() if p.name.startswith("time-"))
    assert folders == ["time-2010-07-01", "time-2011-07-01", "time-2012-07-01"]


def test_unknown_time_is_refused(settings, tmp_path, monkeypatch):
    client, stub = _serve(settings, tmp_path, monkeypatch)
    response = _get_tile(client, "1999-01-01")
    assert response.status_code == 400
    assert stub.urls == []


def test_renderer_404_is_a_transparent_tile(settings, tmp_path, monkeypatch):
    client, stub = _serve(settings, tmp_path, monkeypatch, status=404)
    response = _get_tile(client, "2011-07-01")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.data)).convert("RGBA")
    assert image.getextrema()[3] == (0, 0)  # fully transparent
    assert len(stub.urls) == 1


def test_a_render_for_one_year_does_not_hold_up_the_same_place_in_another(
    settings, tmp_path, monkeypatch
):
    """MapProxy's tile locks ignore TIME: with them, 2011 would wait for 2010's render to finish."""
    client, stub = _serve(settings, tmp_path, monkeypatch)
    stub.hold["2010-07-01"] = threading.Event()
    first = threading.Thread(target=_get_tile, args=(client, "2010-07-01"))
    first.start()
    try:
        deadline = monotonic() + 10
        while not stub.urls and monotonic() < deadline:
            sleep(0.01)
        assert stub.urls, "the first request never reached the renderer"
        answers: list[int] = []
        second = threading.Thread(
            target=lambda: answers.append(_get_tile(client, "2011-07-01").status_code)
        )
        second.start()
        second.join(10)
        assert answers == [200]  # while 2010 is still being rendered
    finally:
        stub.hold["2010-07-01"].set()
        first.join(30)
