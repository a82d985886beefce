"""Pure decisions of the vector store, as tables: query boxes, field types and layer names."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from sdgcube.datacube._vectors_input import FeatureRow, infer_fields, merge_fields, norm_layer_name
from sdgcube.datacube._vectors_sql import query_boxes
from sdgcube.errors import InvalidRequest


@pytest.mark.parametrize(
    ("bbox", "boxes"),
    [
        ((0, 1, 2, 3), [(0.0, 1.0, 2.0, 3.0)]),
        ((5, 5, 5, 5), [(5.0, 5.0, 5.0, 5.0)]),  # a point is a valid query
        ((170, -20, -170, -10), [(170.0, -20.0, 180.0, -10.0), (-180.0, -20.0, -170.0, -10.0)]),
    ],
)
def test_query_boxes(bbox, boxes):
    assert query_boxes(bbox) == boxes


@pytest.mark.parametrize("bbox", [(0, 3, 2, 1), (0, 1, 2), (0, float("nan"), 1, 1)])
def test_query_boxes_refuses(bbox):
    with pytest.raises(InvalidRequest, match="bbox"):
        query_boxes(bbox)


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ({"a": "integer"}, {"a": "number"}, {"a": "number"}),
        ({"a": "number"}, {"a": "integer"}, {"a": "number"}),
        ({"a": "integer"}, {"a": "string"}, {"a": "string"}),
        ({"a": "boolean"}, {"b": "integer"}, {"a": "boolean", "b": "integer"}),
        ({"a": "integer"}, {"a": None}, {"a": "integer"}),  # only nulls arrived: type unchanged
        ({}, {"a": None}, {"a": "string"}),
    ],
)
def test_merge_fields(old, new, merged):
    assert merge_fields(old, new) == merged


def test_infer_fields_ignores_nulls_and_widens_integers():
    point = Point(0, 0)
    rows = [
        FeatureRow("1", point, {"a": None, "b": 1, "c": "x", "d": [1], "e": None}),
        FeatureRow("2", point, {"a": True, "b": 2.5, "c": 3, "d": None, "e": None}),
    ]
    assert infer_fields(rows) == {
        "a": "boolean",
        "b": "number",
        "c": "string",
        "d": "array",
        "e": None,
    }


@pytest.mark.parametrize("name", ["admin_units", "a", "lpd_2020"])
def test_layer_names_accepted(name):
    assert norm_layer_name(name) == name


@pytest.mark.parametrize("name", ["Admin", "2020", "_x", "a-b", "a b", "", "x" * 64])
def test_layer_names_refused(name):
    with pytest.raises(InvalidRequest, match="must start with a-z"):
        norm_layer_name(name)
