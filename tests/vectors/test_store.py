"""The vector store on each backend: loading files, exact bbox queries, paging, filters, and
writes that leave the previous layer intact when the input is bad."""

from __future__ import annotations

import pyproj
import pytest
from shapely.geometry import Polygon, box, mapping, shape

from sdgcube.datacube import vectors
from sdgcube.errors import IngestError, InvalidRequest, UnknownCollection
from tests.vectors.conftest import squares


def fids(page: tuple[list[vectors.VectorFeature], int]) -> list[str]:
    return [f.fid for f in page[0]]


def test_geojson_load_and_exact_bbox(store, write_vectors):
    # A right triangle whose bounding box is the unit square: its empty upper-right corner must
    # not match a bbox there, though the bound columns alone would say it does.
    triangle = Polygon([(0, 0), (1, 0), (0, 1)])
    path = write_vectors("tri.geojson", [(mapping(triangle), {"code": "T", "n": 1, "half": 0.5})])
    layer = store.load_file(path, name="triangle", title="A triangle")
    assert (layer.feature_count, layer.crs, layer.title) == (1, "EPSG:4326", "A triangle")
    assert layer.bbox == (0.0, 0.0, 1.0, 1.0)
    assert layer.fields == {"code": "string", "n": "integer", "half": "number"}
    assert store.query_features("triangle", bbox=(0.8, 0.8, 0.9, 0.9)) == ([], 0)
    assert fids(store.query_features("triangle", bbox=(0.1, 0.1, 0.2, 0.2))) == ["1"]
    assert fids(store.query_features("triangle", bbox=(0.5, 0.5, 0.9, 0.9))) == [
        "1"
    ]  # touches the edge
    assert fids(store.query_features("triangle", bbox=(-5, -5, 5, 5))) == ["1"]  # holds it whole


def test_utm_geopackage_is_reprojected_and_layer_chosen(store, write_vectors):
    utm = box(500_000, 5_000_000, 510_000, 5_010_000)
    path = write_vectors(
        "utm.gpkg",
        [(mapping(utm), {"code": "A", "n": 1, "half": 0.5})],
        crs="EPSG:32633",
        layer="districts",
    )
    write_vectors("utm.gpkg", squares(2), layer="other")
    with pytest.raises(IngestError, match="2 layers"):
        store.load_file(path, name="utm_units")
    layer = store.load_file(path, name="utm_units", layer="districts", id_field="code")
    assert layer.crs == "EPSG:32633"
    to_wgs84 = pyproj.Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    feature = store.get_feature("utm_units", "A")
    ring = feature.geometry["coordinates"][0]
    for x, y in utm.exterior.coords:
        lon, lat = to_wgs84.transform(x, y)
        assert any(abs(lon - px) < 1e-9 and abs(lat - py) < 1e-9 for px, py in ring)
    assert 14.99 < layer.bbox[0] < 15.0 and 45.1 < layer.bbox[1] < 45.2


def test_shapefile_with_prj_loads(store, write_vectors):
    path = write_vectors("units.shp", squares(3, x0=10), crs="EPSG:4326")
    layer = store.load_file(path, name="shp_units", id_field="code")
    assert layer.feature_count == 3 and layer.bbox == (10.0, 0.0, 13.0, 1.0)
    assert store.get_feature("shp_units", "U2").properties == {"code": "U2", "n": 2, "half": 1.0}


def test_paging_counts_every_match(store, write_vectors):
    store.load_file(write_vectors("many.geojson", squares(25)), name="many", id_field="code")
    pages = [store.query_features("many", limit=10, offset=offset) for offset in (0, 10, 20, 30)]
    assert [len(found) for found, _ in pages] == [10, 10, 5, 0]
    assert {matched for _, matched in pages} == {25}
    assert [f.fid for found, _ in pages for f in found] == [f"U{i}" for i in range(1, 26)]
    # Squares 3…7 intersect x in [2.5, 6.5]; paging through a bbox keeps the source order.
    first, matched = store.query_features("many", bbox=(2.5, 0.2, 6.5, 0.8), limit=2, offset=1)
    assert matched == 5 and [f.fid for f in first] == ["U4", "U5"]
    assert store.query_features("many", limit=0) == ([], 25)


def test_property_filters_sorting_and_ids(store, write_vectors):
    store.load_file(write_vectors("props.geojson", squares(6)), name="props", id_field="code")
    assert fids(store.query_features("props", properties={"n": "3"})) == [
        "U3"
    ]  # text read as integer
    assert fids(store.query_features("props", properties={"n": 3, "code": "U3"})) == ["U3"]
    assert fids(store.query_features("props", properties={"half": "1"})) == ["U2"]
    assert fids(store.query_features("props", sortby=["-n"], limit=2)) == ["U6", "U5"]
    assert fids(store.query_features("props", ids=["U5", "U1", "nope"])) == ["U1", "U5"]
    with pytest.raises(
        InvalidRequest, match="'n' of layer 'props' holds integer values, not 'abc'"
    ):
        store.query_features("props", properties={"n": "abc"})
    with pytest.raises(InvalidRequest, match="no property 'colour'"):
        store.query_features("props", properties={"colour": "red"})
    with pytest.raises(InvalidRequest, match="cannot sort"):
        store.query_features("props", sortby=["colour"])


def test_get_feature_and_unknown_layer(store, write_vectors):
    store.load_file(write_vectors("one.geojson", squares(2)), name="by_order")
    feature = store.get_feature("by_order", "2")  # no id field: ids number the features from 1
    assert feature.properties["code"] == "U2" and shape(feature.geometry).equals(box(1, 0, 2, 1))
    assert feature.to_geojson()["id"] == "2"
    assert store.get_feature("by_order", "3") is None
    with pytest.raises(UnknownCollection, match="unknown collection 'nothing_here'"):
        store.get_feature("nothing_here", "1")
    assert "by_order" in {layer.name for layer in store.list_layers()}


def test_invalid_polygon_is_repaired(store, write_vectors):
    bowtie = {"type": "Polygon", "coordinates": [[(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]]}
    store.load_file(
        write_vectors("bowtie.geojson", [(bowtie, {"code": "B", "n": 1, "half": 0.5})]),
        name="bowtie",
    )
    repaired = shape(store.get_feature("bowtie", "1").geometry)
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(0.5)


BAD_LOADS = {
    "missing file": (lambda w, tmp: tmp / "nope.geojson", {}, IngestError, "not a file"),
    "shapefile without .prj": (lambda w, tmp: w("nocrs.shp", squares(2), crs=None), {}, IngestError, "has no CRS"),
    "duplicate id": (lambda w, tmp: w("dup.geojson", squares(2) + squares(1)), {"id_field": "code"}, IngestError,
                     "'U1' in features 1 and 3"),
    "absent id field": (lambda w, tmp: w("noid.geojson", squares(2)), {"id_field": "gid"}, IngestError, "no field 'gid'"),
    "null geometry": (lambda w, tmp: w("null.geojson", [(None, {"code": "X", "n": 1, "half": 0.5})], geometry="Polygon"),
                      {}, IngestError, "feature 1: no geometry"),
    "not a vector file": (lambda w, tmp: (tmp / "junk.gpkg").write_text("junk") and tmp / "junk.gpkg", {}, IngestError,
                          "not a vector file"),
    "bad name": (lambda w, tmp: w("ok.geojson", squares(2)), {"name": "Bad-Name"}, InvalidRequest, "must start with a-z"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_LOADS, ids=list(BAD_LOADS))
def test_bad_input_leaves_the_layer_intact(store, write_vectors, tmp_path, case):
    make, options, error, message = BAD_LOADS[case]
    before = store.load_file(
        write_vectors("keep.geojson", squares(3)), name="keep_me", id_field="code"
    )
    with pytest.raises(error, match=message):
        store.load_file(make(write_vectors, tmp_path), **{"name": "keep_me", **options})
    assert store.get_layer("keep_me") == before
    assert fids(store.query_features("keep_me")) == ["U1", "U2", "U3"]


def test_failure_inside_the_transaction_rolls_back(store, write_vectors, monkeypatch):
    before = store.load_file(
        write_vectors("keep.geojson", squares(3)), name="atomic", id_field="code"
    )

    def half_written(conn, layer, rows):
        real_insert(conn, layer, rows[:1])
        raise RuntimeError("disk full")

    real_insert = vectors.insert_features
    monkeypatch.setattr(vectors, "insert_features", half_written)
    with pytest.raises(RuntimeError, match="disk full"):
        store.load_file(
            write_vectors("new.geojson", squares(5, x0=50)), name="atomic", id_field="code"
        )
    assert store.get_layer("atomic") == before
    assert store.query_features("atomic")[1] == 3


def test_upsert_layer_features_creates_updates_and_replaces(store):
    created = store.upsert_layer_features(
        "sdg_results", [("D1", box(0, 0, 1, 1), {"value": 3}), ("D2", mapping(box(1, 0, 2, 1)), {"value": 4})],
        title="Results",
    )  # fmt: skip
    assert (created.feature_count, created.fields, created.title) == (
        2,
        {"value": "integer"},
        "Results",
    )
    updated = store.upsert_layer_features("sdg_results", [("D2", box(1, 0, 3, 1), {"value": 4.5, "flag": True}),
                                                          ("D3", box(5, 5, 6, 6), {"value": None})])  # fmt: skip
    assert (
        updated.feature_count == 3
        and updated.bbox == (0.0, 0.0, 6.0, 6.0)
        and updated.title == "Results"
    )
    assert updated.fields == {"value": "number", "flag": "boolean"}
    assert updated.created == created.created and updated.updated > created.updated
    assert fids(store.query_features("sdg_results")) == ["D1", "D2", "D3"]  # D2 keeps its place
    assert store.get_feature("sdg_results", "D2").properties == {"value": 4.5, "flag": True}
    replaced = store.upsert_layer_features(
        "sdg_results", [("D9", box(0, 0, 1, 1), {"value": 1})], replace=True
    )
    assert replaced.feature_count == 1 and fids(store.query_features("sdg_results")) == ["D9"]
    with pytest.raises(InvalidRequest, match="more than once: D1"):
        store.upsert_layer_features(
            "sdg_results", [("D1", box(0, 0, 1, 1), {}), ("D1", box(0, 0, 1, 1), {})]
        )
    with pytest.raises(IngestError, match="feature 'D1': not a GeoJSON geometry"):
        store.upsert_layer_features(
            "sdg_results", [("D1", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, {})]
        )
    with pytest.raises(IngestError, match="not EPSG:4326"):
        store.upsert_layer_features("sdg_results", [("D1", box(500_000, 0, 500_001, 1), {})])
    assert fids(store.query_features("sdg_results")) == ["D9"]


def test_load_vector_file_through_settings(vector_settings, store, write_vectors):
    layer = vectors.load_vector_file(
        vector_settings, write_vectors("s.geojson", squares(2)), name="via_settings"
    )
    assert store.get_layer("via_settings") == layer
