"""pygeoapi behind `PygeoapiHost`: collections replaced while the server runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sdgcube.app import ogc_config
from sdgcube.app.pygeoapi_host import PygeoapiHost


def _collection(path: Path) -> dict:
    """A feature collection on pygeoapi's own GeoJSON provider: no index needed."""
    return {
        "type": "collection", "title": path.stem, "description": path.stem, "keywords": [], "links": [],
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90], "crs": ogc_config.CRS84}},
        "providers": [{"type": "feature", "name": "GeoJSON", "data": str(path), "id_field": "id"}],
    }  # fmt: skip


@pytest.fixture
def geojson(tmp_path: Path) -> Path:
    path = tmp_path / "points.geojson"
    feature = {
        "type": "Feature",
        "id": 1,
        "geometry": {"type": "Point", "coordinates": [1, 2]},
        "properties": {},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_a_collection_added_after_the_first_html_page_has_one(geojson: Path) -> None:
    config = copy.deepcopy(ogc_config._template())
    config["server"]["manager"] = {"name": "Dummy"}  # no jobs here
    config["resources"] = {"first": _collection(geojson)}
    host = PygeoapiHost(config, lambda document: document)
    client = TestClient(
        Starlette(routes=host.routes(lambda endpoint: endpoint, lambda endpoint: endpoint))
    )
    assert client.get("/collections/first", params={"f": "html"}).status_code == 200
    host.replace({"later": _collection(geojson)})
    page = client.get("/collections/later", params={"f": "html"})
    assert page.status_code == 200, page.text[:300]
    assert "later" in page.text
    host.replace({}, removed=["later"])
    assert client.get("/collections/later", params={"f": "json"}).status_code == 404
