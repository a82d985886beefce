"""MapProxy's client errors are 400 exception reports (WMS 1.3.0 answered all of them 500)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
import rasterio
from affine import Affine
from starlette.testclient import TestClient

from sdgcube.app.server import create_app
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.index import init_index
from sdgcube.datacube.ingest import ingest_file
from sdgcube.settings import Settings
from sdgcube.tiles.mapproxy_errors import client_errors

GETMAP = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "ext_maps",
          "CRS": "EPSG:3857", "BBOX": "1113194,2262000,1124326,2273030", "WIDTH": "256",
          "HEIGHT": "256", "FORMAT": "image/png", "STYLES": ""}  # fmt: skip
WMTS = {"SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetTile", "LAYER": "ext_maps",
        "STYLE": "", "FORMAT": "image/png", "TILEMATRIXSET": "webmercator", "TILEMATRIX": "1",
        "TILEROW": "0", "TILECOL": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def client(backend, make_settings, tmp_path_factory):

    settings = make_settings(backend)
    cube = Cube(init_index(settings), settings)
    folder = tmp_path_factory.mktemp("maps")
    for year in (2020, 2021):
        path = folder / f"{year}.tif"

        with rasterio.open(path, "w", driver="GTiff", width=100, height=50, count=1,
                           dtype="float32", crs="EPSG:4326",
                           transform=Affine(0.001, 0, 10.0, 0, -0.001, 20.0)) as dst:  # fmt: skip
            dst.write(np.ones((1, 50, 100), dtype="float32"))
        ingest_file(
            cube.dc, settings.archive_dir, path, product="ext_maps", when=datetime(year, 1, 1)
        )
    served = Settings(data_dir=settings.data_dir, db_url=settings.db_url, watch_interval_s=3600)
    with TestClient(create_app(served), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("change", "report"),
    [
        ({"LAYERS": "nope"}, "LayerNotDefined"),
        ({"CRS": "EPSG:999999"}, "InvalidCRS"),
        ({"TIME": "garbage"}, "InvalidDimensionValue"),
        ({"WIDTH": "0"}, "WIDTH must be a positive integer"),
        (
            {
                "REQUEST": "GetFeatureInfo",
                "QUERY_LAYERS": "ext_maps",
                "I": "1",
                "J": "1",
                "INFO_FORMAT": "text/plain",
            },
            "not queryable",
        ),
    ],
)
def test_wms_client_errors_are_400_reports(client, change, report):
    response = client.get("/mapproxy/service", params={**GETMAP, **change})
    assert response.status_code == 400, response.text
    assert "ServiceExceptionReport" in response.text and report in response.text


@pytest.mark.parametrize(
    "change",
    [
        {"LAYER": "nope"},
        {"TIME": "garbage"},
        {"REQUEST": "GetFeatureInfo", "I": "1", "J": "1", "INFOFORMAT": "text/plain"},
    ],
)
def test_wmts_client_errors_are_400_reports(client, change):
    response = client.get("/mapproxy/service", params={**WMTS, **change})
    assert response.status_code == 400 and "ows:ExceptionReport" in response.text


def test_a_repeated_wms_parameter_is_a_400_report(client):
    query = "&".join(f"{k}={v}" for k, v in GETMAP.items()) + "&CRS=EPSG:4326"
    response = client.get(f"/mapproxy/service?{query}")
    assert response.status_code == 400 and "more than once: CRS" in response.text


def test_a_failed_source_stays_a_server_error():
    def mapproxy(environ, start_response):
        start_response("500 Internal Server Error", [("Content-Type", "text/xml")])
        return [b"<ServiceExceptionReport><ServiceException>Could not get retrieve image"]

    statuses = []
    body = client_errors(mapproxy)({"QUERY_STRING": ""}, lambda s, h, e=None: statuses.append(s))
    assert statuses == ["500 Internal Server Error"] and b"Could not get" in b"".join(body)
