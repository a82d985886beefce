"""The pygeoapi provider over the vector store: its query/get contract called directly, and once
through pygeoapi's own API core, which builds the paging links QGIS follows."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyproj
import pytest
from pygeoapi.crs import create_crs_transform_spec
from pygeoapi.plugin import load_plugin
from pygeoapi.provider.base import (
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from shapely.geometry import box, shape

from sdgcube.app.providers.features import CubeFeatureProvider
from sdgcube.datacube.vectors import VectorStore

NAME = "sdgcube.app.providers.features.CubeFeatureProvider"
UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"


def definition(store: VectorStore, layer: str, **extra: Any) -> dict[str, Any]:
    return {"type": "feature", "name": NAME, "data": layer, "id_field": "id", "store": store,
            **extra}  # fmt: skip


@pytest.fixture
def units(store: VectorStore) -> CubeFeatureProvider:
    """25 unit squares near 15°E 45°N (inside UTM zone 33), ids U1…U25."""
    store.upsert_layer_features(
        "provider_units",
        [(f"U{i}", box(15 + i * 0.01, 45, 15 + (i + 1) * 0.01, 45.01), {"n": i, "name": f"unit {i}"})
         for i in range(1, 26)],
        replace=True,
    )  # fmt: skip
    return load_plugin("provider", definition(store, "provider_units"))


def test_query_pages_through_every_feature(units):
    seen, offset = [], 0
    while True:
        page = units.query(offset=offset, limit=10)
        assert page["type"] == "FeatureCollection" and page["numberMatched"] == 25
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        if page["numberMatched"] <= offset + 10:  # pygeoapi's rule for a next link
            break
        offset += 10
    assert seen == [f"U{i}" for i in range(1, 26)]
    hits = units.query(resulttype="hits")
    assert hits["features"] == [] and hits["numberMatched"] == 25


def test_query_filters_as_pygeoapi_passes_them(units):
    inside = units.query(bbox=[15.035, 45.001, 15.055, 45.002], limit=10)
    assert [f["id"] for f in inside["features"]] == ["U3", "U4", "U5"]
    with_heights = units.query(bbox=[15.035, 45.001, 0, 15.045, 45.002, 10])
    assert [f["id"] for f in with_heights["features"]] == ["U3", "U4"]
    assert [f["id"] for f in units.query(properties=[("n", "7")])["features"]] == ["U7"]
    ordered = units.query(sortby=[{"property": "n", "order": "-"}], limit=2)
    assert [f["id"] for f in ordered["features"]] == ["U25", "U24"]
    slim = units.query(limit=1, select_properties=["name"], skip_geometry=True)["features"][0]
    assert slim == {
        "type": "Feature",
        "id": "U1",
        "geometry": None,
        "properties": {"name": "unit 1"},
    }


def test_bad_queries_are_invalid_query_errors(units):
    with pytest.raises(ProviderInvalidQueryError) as caught:
        units.query(properties=[("n", "seven")])
    assert caught.value.http_status_code == 400 and "'seven'" in caught.value.message
    with pytest.raises(ProviderInvalidQueryError, match="neither q nor filter"):
        units.query(filterq={"op": "="})


def test_get_and_missing_feature(units):
    feature = units.get("U2")
    assert feature["id"] == "U2" and feature["properties"] == {"n": 2, "name": "unit 2"}
    assert shape(feature["geometry"]).equals(box(15.02, 45, 15.03, 45.01))
    with pytest.raises(ProviderItemNotFoundError) as caught:
        units.get("U99")
    assert caught.value.http_status_code == 404


def test_fields_and_crs_transform(units, store):
    assert units.fields == {"n": {"type": "integer"}, "name": {"type": "string"}}
    spec = create_crs_transform_spec(definition(store, "provider_units", crs=[UTM33]), UTM33)
    ring = units.get("U1", crs_transform_spec=spec)["geometry"]["coordinates"][0]
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True)
    expected = [
        to_utm.transform(lon, lat) for lon, lat in box(15.01, 45, 15.02, 45.01).exterior.coords
    ]
    assert np.allclose(ring, expected, rtol=0, atol=1e-3)


def test_layer_not_loaded_yet(store):
    missing = CubeFeatureProvider(definition(store, "not_loaded"))
    assert missing.fields == {}  # the OpenAPI document and landing page still build
    with pytest.raises(ProviderConnectionError, match="unknown collection 'not_loaded'"):
        missing.query()


@pytest.fixture
def quiet_logging() -> Iterator[None]:
    """pygeoapi's API constructor reconfigures the root logger; put it back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_through_pygeoapi_api_core(units, store, quiet_logging):
    from pygeoapi.api import API, APIRequest, itemtypes
    from starlette.requests import Request

    config = {
        "server": {"url": "http://localhost:5000", "mimetype": "application/json; charset=UTF-8",
                   "encoding": "utf-8", "languages": ["en-US"], "limits": {"default_items": 10, "max_items": 100},
                   "map": {"url": "", "attribution": ""}},
        "logging": {"level": "CRITICAL"},
        "metadata": {"identification": {"title": "t", "description": "d", "keywords": [], "terms_of_service": "",
                                        "url": ""}, "license": {"name": "x"}, "provider": {"name": "x"},
                     "contact": {"name": "x"}},
        "resources": {"units": {
            "type": "collection", "title": "Units", "description": "d", "keywords": [], "links": [],
            "extents": {"spatial": {"bbox": [-180, -90, 180, 90]}},
            "providers": [definition(store, "provider_units")],
        }},
    }  # fmt: skip
    api = API(config, {})

    def items(query: str, identifier: str | None = None) -> tuple[int, dict[str, Any]]:
        path = "/collections/units/items" + (f"/{identifier}" if identifier else "")
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": [],
        }
        request = APIRequest(Request(scope), api.locales)
        if identifier:
            _, status, content = itemtypes.get_collection_item(api, request, "units", identifier)
        else:
            _, status, content = itemtypes.get_collection_items(api, request, "units")
        return status, json.loads(content)

    status, first = items("f=json&limit=10")
    assert status == 200 and first["numberMatched"] == 25 and first["numberReturned"] == 10
    assert [link["href"] for link in first["links"] if link["rel"] == "next"] == [
        "http://localhost:5000/collections/units/items?f=json&offset=10&limit=10"
    ]
    status, last = items("f=json&limit=10&offset=20")
    assert last["numberReturned"] == 5 and "next" not in {link["rel"] for link in last["links"]}
    assert items("f=json&n=3")[1]["numberMatched"] == 1
    assert items("f=json&n=three")[0] == 400
    assert items("f=json", "U3")[1]["id"] == "U3"
    assert items("f=json", "U99")[0] == 404
