"""The normalisers behind ``Cube.load``: tables of inputs and what they become."""

from __future__ import annotations

import pytest

from sdgcube.datacube.query import (
    norm_bbox,
    norm_crs_or_none,
    norm_geometry,
    norm_resolution,
    norm_time,
)
from sdgcube.errors import InvalidRequest


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((1, 2, 3, 4), (1.0, 2.0, 3.0, 4.0)),
        ("1,2,3,4", (1.0, 2.0, 3.0, 4.0)),
        (" -10.5, -5 ,10.5,5 ", (-10.5, -5.0, 10.5, 5.0)),
    ],
)
def test_norm_bbox_accepts(given, expected):
    assert norm_bbox(given) == expected


@pytest.mark.parametrize(
    "given",
    [(1, 2, 3), "a,b,c,d", (3, 2, 1, 4), (1, 4, 3, 2), (0, 0, float("nan"), 1), (1, 1, 1, 2)],
)
def test_norm_bbox_rejects_with_the_value(given):
    with pytest.raises(InvalidRequest, match="bbox"):
        norm_bbox(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("2020", ("2020-01-01T00:00:00", "2020-12-31T23:59:59.999999")),
        ("2020-03", ("2020-03-01T00:00:00", "2020-03-31T23:59:59.999999")),
        (("2000", "2004"), ("2000-01-01T00:00:00", "2004-12-31T23:59:59.999999")),
        ("2000/2004", ("2000-01-01T00:00:00", "2004-12-31T23:59:59.999999")),
        ("2021-05-01T10:00:00Z", ("2021-05-01T10:00:00", "2021-05-01T10:00:00.999999")),
    ],
)
def test_norm_time(given, expected):
    assert norm_time(given) == expected


def test_norm_time_open_ends():
    start, end = norm_time("../2004")
    assert start.startswith("1677") and end.startswith("2004-12-31")


@pytest.mark.parametrize(
    "given", ["yesterday", ("2005", "2001"), ("2001", "2002", "2003"), "2001-13"]
)
def test_norm_time_rejects(given):
    with pytest.raises(InvalidRequest):
        norm_time(given)


@pytest.mark.parametrize(
    ("given", "epsg"),
    [
        ("EPSG:4326", 4326),
        (32760, 32760),
        ("epsg:3857", 3857),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", 4326),
    ],
)
def test_norm_crs_known(given, epsg):
    assert norm_crs_or_none(given).epsg == epsg


def test_norm_crs_unknown_names_the_value():
    with pytest.raises(InvalidRequest, match="EPSG:999999"):
        norm_crs_or_none("EPSG:999999")


@pytest.mark.parametrize(
    ("given", "expected"), [(30, (30.0, 30.0)), ((10, -20), (10.0, 20.0)), (None, None)]
)
def test_norm_resolution(given, expected):
    assert norm_resolution(given) == expected


@pytest.mark.parametrize("given", [0, (1, 2, 3), ("a", 1), float("inf")])
def test_norm_resolution_rejects(given):
    with pytest.raises(InvalidRequest):
        norm_resolution(given)


def test_norm_geometry_from_feature_and_rejects_invalid():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert norm_geometry(
        {"type": "Feature", "geometry": square, "properties": {}}
    ).area == pytest.approx(1.0)
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(InvalidRequest):
        norm_geometry(bowtie)
    with pytest.raises(InvalidRequest):
        norm_geometry({"type": "Nonsense"})
