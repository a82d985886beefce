"""WMS GetMap → the tiler's bbox route: the translation table and the ASGI shim that applies it."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sdgcube.tiles.wms_source import WmsGetMapShim, getmap_to_bbox_route

_MAP = {"BBOX": "19800000,-5090000,19870000,-5040000", "WIDTH": "256", "HEIGHT": "256"}
_PATH = "/collections/ndvi/bbox/19800000.0,-5090000.0,19870000.0,-5040000.0/256x256"


@pytest.mark.parametrize(
    ("extra", "suffix", "query"),
    [
        # what MapProxy sends: WMS 1.1.1, SRS, PNG, TIME forwarded
        ({"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "SRS": "EPSG:3857", "FORMAT": "image/png",
          "TIME": "2020-07-01", "LAYERS": "ndvi", "STYLES": "", "TRANSPARENT": "True"},
         "png", [("dst_crs", "EPSG:3857"), ("coord_crs", "EPSG:3857"), ("datetime", "2020-07-01")]),
        ({"VERSION": "1.3.0", "CRS": "EPSG:3857"}, "png", [("dst_crs", "EPSG:3857"), ("coord_crs", "EPSG:3857")]),
        # CRS wins over SRS when both are given
        ({"CRS": "EPSG:32760", "SRS": "EPSG:3857"}, "png", [("dst_crs", "EPSG:32760"), ("coord_crs", "EPSG:32760")]),
        ({"CRS": "CRS:84"}, "png", [("dst_crs", "OGC:CRS84"), ("coord_crs", "OGC:CRS84")]),
        ({"SRS": "crs:84"}, "png", [("dst_crs", "OGC:CRS84"), ("coord_crs", "OGC:CRS84")]),
        ({}, "png", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"FORMAT": "image/jpeg"}, "jpg", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"FORMAT": "image/png; mode=8bit"}, "png", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"FORMAT": "IMAGE/PNG"}, "png", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"FORMAT": "image/webp"}, "webp", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"FORMAT": "image/tiff"}, "tif", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"REQUEST": "getmap"}, "png", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        # an empty TIME is no time
        ({"TIME": ""}, "png", [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326")]),
        ({"TIME": "2010-01-01/2012-12-31"}, "png",
         [("dst_crs", "EPSG:4326"), ("coord_crs", "EPSG:4326"), ("datetime", "2010-01-01/2012-12-31")]),
    ],
)  # fmt: skip
def test_translation(extra, suffix, query):
    path, got = getmap_to_bbox_route("ndvi", {**_MAP, **extra})
    assert path == f"{_PATH}.{suffix}"
    assert got == query


def test_bbox_numbers_are_normalised_floats():
    path, _ = getmap_to_bbox_route("c", {"BBOX": "1e-2, -2 ,3.50,4", "WIDTH": "10", "HEIGHT": "20"})
    assert path == "/collections/c/bbox/0.01,-2.0,3.5,4.0/10x20.png"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"WIDTH": "256", "HEIGHT": "256"}, "GetMap needs BBOX"),
        ({**_MAP, "BBOX": "0,0,10"}, "GetMap needs BBOX"),
        ({**_MAP, "BBOX": "0,0,10,10,5"}, "GetMap needs BBOX"),
        ({**_MAP, "BBOX": "a,b,c,d"}, "GetMap needs BBOX"),
        ({"BBOX": "0,0,1,1", "HEIGHT": "256"}, "WIDTH and HEIGHT"),
        ({**_MAP, "WIDTH": "256.5"}, "WIDTH and HEIGHT"),
        ({**_MAP, "REQUEST": "GetCapabilities"}, "only REQUEST=GetMap"),
        ({**_MAP, "REQUEST": "GetFeatureInfo"}, "only REQUEST=GetMap"),
        ({**_MAP, "FORMAT": "image/gif"}, "FORMAT 'image/gif' is not one of"),
        ({**_MAP, "FORMAT": "application/json"}, "FORMAT 'application/json'"),
    ],
)
def test_refused(params, message):
    with pytest.raises(ValueError, match=message):
        getmap_to_bbox_route("ndvi", params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**_MAP, "WIDTH": "0"}, "WIDTH and HEIGHT must be 1 to"),
        ({**_MAP, "HEIGHT": "-5"}, "WIDTH and HEIGHT must be 1 to"),
        ({**_MAP, "BBOX": "10,0,0,10"}, "BBOX '10,0,0,10' must be finite"),
        ({**_MAP, "BBOX": "0,10,10,0"}, "BBOX '0,10,10,0' must be finite"),
        ({**_MAP, "BBOX": "0,0,nan,10"}, "BBOX '0,0,nan,10' must be finite"),
    ],
)
def test_malformed_getmap_is_refused(params, message):
    with pytest.raises(ValueError, match=message):
        getmap_to_bbox_route("ndvi", params)


def test_wms_130_epsg4326_bbox_is_lat_lon():
    params = {
        "VERSION": "1.3.0",
        "CRS": "EPSG:4326",
        "BBOX": "-41.5,178.1,-41.2,178.5",
        "WIDTH": "256",
        "HEIGHT": "256",
    }
    try:
        path, _ = getmap_to_bbox_route("ndvi", params)
    except ValueError:
        return  # refusing it is also fine
    assert path == "/collections/ndvi/bbox/178.1,-41.5,178.5,-41.2/256x256.png"


# --- the ASGI shim ---------------------------------------------------------------------------------


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "query": request.url.query})


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = Starlette(routes=[Route("/{rest:path}", _echo)])
    return TestClient(WmsGetMapShim(app))


def test_shim_rewrites_getmap_onto_the_bbox_route(client):
    response = client.get(
        "/collections/ndvi/wms",
        params={"service": "WMS", "request": "GetMap", "bbox": "0,0,10,10", "width": "64", "height": "32",
                "srs": "EPSG:3857", "format": "image/jpeg", "time": "2020-07-01"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["path"] == "/collections/ndvi/bbox/0.0,0.0,10.0,10.0/64x32.jpg"
    assert parse_qsl(response.json()["query"]) == [
        ("dst_crs", "EPSG:3857"), ("coord_crs", "EPSG:3857"), ("datetime", "2020-07-01")
    ]  # fmt: skip


def test_shim_answers_bad_getmap_with_a_400(client):
    response = client.get(
        "/collections/ndvi/wms", params={"REQUEST": "GetMap", "WIDTH": "1", "HEIGHT": "1"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"
    assert "BBOX" in response.json()["description"]


@pytest.mark.parametrize("path", ["/collections/ndvi/bbox/0,0,1,1/1x1.png", "/collections/ndvi/wms/extra",
                                  "/collections/wms"])  # fmt: skip
def test_shim_leaves_other_paths_alone(client, path):
    response = client.get(path, params={"BBOX": "x"})
    assert response.json() == {"path": path, "query": "BBOX=x"}


def test_shim_keeps_the_root_path():
    app = Starlette(routes=[Route("/{rest:path}", _echo)])
    with TestClient(WmsGetMapShim(app), root_path="/tiles") as client:
        response = client.get(
            "/tiles/collections/ndvi/wms", params={"BBOX": "0,0,1,1", "WIDTH": "2", "HEIGHT": "2"}
        )
    assert response.json()["path"] == "/tiles/collections/ndvi/bbox/0.0,0.0,1.0,1.0/2x2.png"
