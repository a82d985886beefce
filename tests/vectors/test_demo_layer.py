"""The demo archive publishes its districts as the ``admin_units`` collection."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape

pytestmark = pytest.mark.slow


def test_demo_admin_units_layer(demo):
    cube, _ = demo
    store = cube.vectors
    layer = store.get_layer("admin_units")
    assert (layer.feature_count, layer.id_field, layer.crs) == (4, "unit_id", "EPSG:4326")
    source = json.loads((cube.settings.data_dir / "demo" / "admin_units.geojson").read_text())
    for item in source["features"]:
        stored = store.get_feature("admin_units", item["properties"]["unit_id"])
        # OGR turns the string ids of GeoJSON features into an "id" field.
        assert stored.properties == {"id": item["id"], **item["properties"]}
        assert shape(stored.geometry).equals_exact(shape(item["geometry"]), 1e-12)
    west, south, east, north = layer.bbox
    assert 177 < west < east < 178.5 and -18 < south < north < -17
