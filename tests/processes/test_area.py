"""A job's area: validation of bbox/geometry inputs, and its geodesic size against a closed form."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from odc.geo.geom import box as odc_box
from pydantic import ValidationError
from shapely.geometry import shape

from sdgcube.errors import InvalidRequest, LimitExceeded
from sdgcube.processes.area import AreaInputs, check_job_area, geodesic_km2, job_area_km2
from sdgcube.settings import Limits

_A = 6378137.0
_F = 1 / 298.257223563
_B = _A * (1 - _F)
_E = math.sqrt(_F * (2 - _F))


def _cell_km2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Exact area of a lon/lat rectangle on the WGS 84 ellipsoid (closed form, authalic latitude)."""

    def q(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return s / (1 - (_E * s) ** 2) + math.log((1 + _E * s) / (1 - _E * s)) / (2 * _E)

    return _B**2 * math.radians(lon1 - lon0) / 2 * (q(lat1) - q(lat0)) / 1e6


def _polygon(*corners: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[*map(list, corners), list(corners[0])]]}


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"bbox": [0, 0, 1, 1]},
        {"bbox": [-180, -90, 180, 90]},
        {"bbox": [177.9, -17.7, 178.0, -17.6]},
        {"geometry": _polygon((0, 0), (1, 0), (1, 1), (0, 1))},
        {"geometry": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}},
    ],
)
def test_valid_areas(kwargs):
    area = AreaInputs(**kwargs)
    assert (area.shape() is None) == (not kwargs)
    assert area.load_area() == dict(kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"bbox": [0, 0, 1, 1], "geometry": _polygon((0, 0), (1, 0), (1, 1))},
            "either bbox or geometry, not both",
        ),
        ({"bbox": [1, 0, 0, 1]}, "must be minx < maxx"),
        ({"bbox": [0, 1, 1, 0]}, "must be minx < maxx"),
        ({"bbox": [0, 0, 0, 1]}, "must be minx < maxx"),
        ({"bbox": [-181, 0, 0, 1]}, "within WGS 84 bounds"),
        ({"bbox": [0, 0, 180.5, 1]}, "within WGS 84 bounds"),
        ({"bbox": [0, -91, 1, 0]}, "within WGS 84 bounds"),
        ({"bbox": [0, 0, 1, 90.1]}, "within WGS 84 bounds"),
        ({"bbox": [500000, 5400000, 510000, 5410000]}, "within WGS 84 bounds"),
        ({"bbox": [float("nan"), 0, 1, 1]}, "must be minx < maxx"),
        ({"bbox": [0, 0, 1]}, "at least 4 items"),
        ({"bbox": [0, 0, 1, 1, 2]}, "at most 4 items"),
        ({"bbox": ["a", 0, 1, 1]}, "valid number"),
        ({"geometry": {"type": "Polygon", "coordinates": []}}, "non-empty polygon"),
        ({"geometry": {"type": "MultiPolygon", "coordinates": []}}, "non-empty polygon"),
        ({"geometry": {"type": "Point", "coordinates": [0, 0]}}, "non-empty polygon"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            "non-empty polygon",
        ),
        ({"geometry": _polygon((0, 0), (1, 1), (2, 2))}, "non-empty polygon"),  # collinear: no area
        ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}}, "not valid GeoJSON"),
        ({"geometry": {"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}, "not valid GeoJSON"),
        ({"geometry": "POLYGON((0 0, 1 0, 1 1, 0 0))"}, "valid dictionary"),
    ],
)
def test_invalid_areas(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        AreaInputs(**kwargs)


@pytest.mark.parametrize("kind", ["Nope", "Circle", "GeometryCollectio"])
def test_unknown_geometry_type_is_a_validation_error(kind):
    with pytest.raises(ValidationError, match="geometry"):
        AreaInputs(geometry={"type": kind, "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})


@pytest.mark.parametrize(
    "geometry",
    [_polygon((200, 0), (201, 0), (201, 1), (200, 1)), _polygon((0, 89), (1, 89), (1, 95), (0, 95)),
     _polygon((500000, 5400000), (510000, 5400000), (510000, 5410000))],
)  # fmt: skip
def test_geometry_outside_wgs84_is_refused(geometry):
    with pytest.raises(ValidationError):
        AreaInputs(geometry=geometry)


# --- geodesic area ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [(0, 0, 1, 1), (0, -0.5, 1, 0.5), (178, -18, 179, -17), (0, -60, 1, -59), (-180, -61, -179, -60),
     (10, 45, 12, 46), (0, 0, 0.01, 0.01), (170, -50, 180, -40)],
)  # fmt: skip
def test_bbox_area_is_the_ellipsoidal_area(cell):
    assert job_area_km2(AreaInputs(bbox=list(cell)), None, "unused") == pytest.approx(
        _cell_km2(*cell), rel=5e-3
    )


def test_one_degree_at_the_equator_and_at_60_south():
    equator = job_area_km2(AreaInputs(bbox=[0, 0, 1, 1]), None, "unused")
    south = job_area_km2(AreaInputs(bbox=[0, -60.5, 1, -59.5]), None, "unused")
    assert equator == pytest.approx(
        12_364, rel=5e-3
    )  # 12,309 km² on WGS 84; 12,364 on the authalic sphere
    assert south / equator == pytest.approx(math.cos(math.radians(60)), rel=0.02)


@pytest.mark.parametrize(
    "ring",
    [((0, 0), (1, 0), (1, 1), (0, 1)), ((0, 0), (0, 1), (1, 1), (1, 0))],  # either orientation
    ids=["ccw", "cw"],
)
def test_geometry_area_matches_bbox_area(ring):
    by_geometry = job_area_km2(AreaInputs(geometry=_polygon(*ring)), None, "unused")
    assert by_geometry == pytest.approx(
        job_area_km2(AreaInputs(bbox=[0, 0, 1, 1]), None, "unused"), rel=1e-9
    )


def test_triangle_is_half_the_square():
    triangle = job_area_km2(
        AreaInputs(geometry=_polygon((0, 0), (0.1, 0), (0.1, 0.1))), None, "unused"
    )
    assert triangle == pytest.approx(_cell_km2(0, 0, 0.1, 0.1) / 2, rel=1e-3)


def _cube(*boxes, limit: float = 50_000.0) -> SimpleNamespace:
    datasets = [SimpleNamespace(extent=odc_box(*b, "EPSG:32760")) for b in boxes]
    return SimpleNamespace(
        datasets=lambda product: datasets,
        settings=SimpleNamespace(limits=Limits(max_job_area_km2=limit)),
    )


def test_no_area_means_the_union_of_the_datasets():
    one = _cube((600000, 5400000, 630000, 5430000))
    two = _cube((600000, 5400000, 630000, 5430000), (615000, 5400000, 645000, 5430000))
    single = job_area_km2(AreaInputs(), one, "sr")
    # the dataset's footprint is taken as its WGS 84 bbox, a little larger than its 30 km × 30 km
    lonlat = odc_box(600000, 5400000, 630000, 5430000, "EPSG:32760").to_crs("EPSG:4326").boundingbox
    assert single == pytest.approx(_cell_km2(*lonlat), rel=1e-3)
    assert 900 < single < 950
    # a second dataset overlapping half of the first adds half an area: the overlap is counted once
    assert job_area_km2(AreaInputs(), two, "sr") == pytest.approx(single * 1.5, rel=0.01)


def test_no_area_and_no_datasets():
    with pytest.raises(InvalidRequest, match="product 'sr' holds no datasets"):
        job_area_km2(AreaInputs(), _cube(), "sr")


@pytest.mark.parametrize(("limit", "refused"), [(13_000, False), (12_000, True)])
def test_check_job_area_against_the_limit(limit, refused):
    area, cube = AreaInputs(bbox=[0, 0, 1, 1]), _cube(limit=limit)
    if not refused:
        check_job_area(area, cube, "sr")
        return
    with pytest.raises(
        LimitExceeded,
        match=f"the job covers 12,309 km², more than this server's limit of {limit:,} km²",
    ):
        check_job_area(area, cube, "sr")


def test_world_bbox_measures_the_whole_earth() -> None:
    from shapely.geometry import box

    from sdgcube.processes.area import geodesic_km2

    assert abs(geodesic_km2(box(-180, -90, 180, 90)) - 510.07e6) < 0.1e6
    assert abs(geodesic_km2(box(0, 0, 1, 1)) - 12308.8) < 1


BOW_TIE = {"type": "Polygon", "coordinates": [[[177.9, -17.6], [177.95, -17.65], [177.95, -17.6],
                                               [177.9, -17.65], [177.9, -17.6]]]}  # fmt: skip


def test_a_self_intersecting_polygon_is_repaired_into_the_area_it_outlines():
    area = AreaInputs(geometry=BOW_TIE)
    repaired = area.shape()
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2
    # two triangles, each a quarter of the 0.05° x 0.05° square
    square = geodesic_km2(shape({"type": "Polygon", "coordinates": [[[177.9, -17.6], [177.95, -17.6],
                                 [177.95, -17.65], [177.9, -17.65], [177.9, -17.6]]]}))  # fmt: skip
    assert geodesic_km2(repaired) == pytest.approx(square / 2, rel=1e-3)
    assert shape(area.load_area()["geometry"]).is_valid


@pytest.mark.slow
def test_band_math_over_a_self_intersecting_polygon_runs(demo, build_processor):
    from sdgcube.processes.band_math import BandMath

    _, document = build_processor(BandMath, "band-math").execute(
        {"expression": "nir08 - red", "datetime": "2020", "geometry": BOW_TIE}
    )
    assert document["collection"].startswith("bandmath_")
