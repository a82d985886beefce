"""Footprints from planted buildings rasterised onto a 0.5 m grid: polygons, regularisation,
counts per unit and the files written."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import shapely
from affine import Affine
from rasterio.features import rasterize
from shapely import affinity
from shapely.geometry import Polygon, box

from sdgcube.errors import InvalidRequest
from sdgcube.models.footprints import (
    Footprint,
    count_per_unit,
    dominant_angle_deg,
    footprints_wgs84,
    polygonise_strips,
    regularise,
    write_footprints,
)

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 4_000_000.0
TRANSFORM = Affine(0.5, 0, X0, 0, -0.5, Y0)
SIZE = 240  # pixels: 120 m a side


def _at(shape: Polygon, x: float, y: float, angle: float = 30) -> Polygon:
    """``shape`` rotated by ``angle`` degrees about its centroid, moved to (x, y) metres from the
    grid's north-west corner (y southwards)."""
    rotated = affinity.rotate(shape, angle, origin="centroid")
    centre = rotated.centroid
    return affinity.translate(rotated, X0 + x - centre.x, Y0 - y - centre.y)


RECT = _at(box(0, 0, 30, 20), 25, 20)
L_SHAPE = _at(Polygon([(0, 0), (30, 0), (30, 10), (12, 10), (12, 28), (0, 28)]), 85, 25)
COURTYARD = _at(box(0, 0, 32, 32).difference(box(11, 11, 21, 21)), 30, 80)
PLANTED = [RECT, L_SHAPE, COURTYARD]


def _mask(*shapes: Polygon) -> npt.NDArray[np.uint8]:
    return rasterize(list(shapes), out_shape=(SIZE, SIZE), transform=TRANSFORM, dtype="uint8")


def _polygonise(mask: npt.NDArray[np.uint8], strip_rows: int = 1024) -> list[Polygon]:
    return list(
        polygonise_strips(lambda r0, r1: mask[r0:r1], *mask.shape, TRANSFORM, strip_rows=strip_rows)
    )


def _matching(polygons: list[Polygon], planted: Polygon) -> Polygon:
    [match] = [
        p
        for p in polygons
        if p.intersects(planted.centroid) or p.contains(planted.representative_point())
    ]
    return match


@pytest.fixture(scope="module")
def footprints() -> list[Footprint]:
    return regularise(_polygonise(_mask(*PLANTED)))


def test_one_polygon_per_building_with_the_courtyard_hole() -> None:
    polygons = _polygonise(_mask(*PLANTED))
    assert len(polygons) == 3
    assert [len(_matching(polygons, p).interiors) for p in PLANTED] == [0, 0, 1]


@pytest.mark.parametrize("strip_rows", [1, 7, 50])
def test_strips_give_the_same_polygons_as_one_strip(strip_rows: int) -> None:
    mask = _mask(*PLANTED)
    whole = _polygonise(mask)
    parts = _polygonise(mask, strip_rows)
    assert len(parts) == len(whole) == 3
    for planted in PLANTED:
        a, b = _matching(whole, planted), _matching(parts, planted)
        assert b.is_valid and len(b.interiors) == len(a.interiors)
        assert a.symmetric_difference(b).area == pytest.approx(0, abs=1e-6)


def test_random_mask_in_strips_matches_one_strip() -> None:
    mask = (np.random.default_rng(1).random((40, 30)) < 0.55).astype(np.uint8)
    whole = sorted(p.wkb for p in (shapely.normalize(q) for q in _polygonise(mask)))
    for strip_rows in (1, 3, 7):
        assert (
            sorted(p.wkb for p in (shapely.normalize(q) for q in _polygonise(mask, strip_rows)))
            == whole
        )


def test_buildings_touching_only_at_a_corner_stay_two() -> None:
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[1:4, 1:4] = 1
    mask[4:7, 4:7] = (
        1  # meets the first block at one pixel corner, on a strip edge when strip_rows=4
    )
    for strip_rows in (4, 8):
        polygons = _polygonise(mask, strip_rows)
        assert sorted(p.area for p in polygons) == [2.25, 2.25]


def test_bad_strip_shape_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="expected"):
        list(polygonise_strips(lambda r0, r1: np.zeros((1, 3)), 4, 4, TRANSFORM))


def test_regularised_areas_within_five_percent(footprints: list[Footprint]) -> None:
    assert len(footprints) == 3
    for planted in PLANTED:
        found = _matching([f.geometry for f in footprints], planted)
        assert found.area == pytest.approx(planted.area, rel=0.05)
    for f in footprints:
        assert (f.area_m2, f.perimeter_m) == (f.geometry.area, f.geometry.length)


def test_rotated_rectangle_has_orthogonal_edges_at_thirty_degrees(
    footprints: list[Footprint],
) -> None:
    rect = _matching([f.geometry for f in footprints], RECT)
    assert len(rect.exterior.coords) == 5  # four corners: no staircase left on its slanted edges
    edges = np.diff(np.asarray(rect.exterior.coords), axis=0)
    angles = np.degrees(np.arctan2(edges[:, 1], edges[:, 0])) % 90
    off = np.minimum(np.abs(angles - 30), 90 - np.abs(angles - 30))
    assert off.max() < 1.0
    assert dominant_angle_deg(rect) == pytest.approx(30, abs=1.0)


def test_courtyard_keeps_its_hole(footprints: list[Footprint]) -> None:
    court = _matching([f.geometry for f in footprints], COURTYARD)
    assert len(court.interiors) == 1
    assert Polygon(court.interiors[0]).area == pytest.approx(100, rel=0.15)


def test_specks_below_min_area_are_dropped() -> None:
    speck = box(X0 + 100, Y0 - 100, X0 + 101.5, Y0 - 98.5)  # 2.25 m²
    found = regularise(_polygonise(_mask(RECT, speck)), min_area_m2=4.0)
    assert len(found) == 1 and found[0].area_m2 > 500


def test_count_per_unit_gives_the_planted_counts(footprints: list[Footprint]) -> None:
    west, east = box(X0, Y0 - 120, X0 + 60, Y0), box(X0 + 60, Y0 - 120, X0 + 120, Y0)
    counts, areas = count_per_unit(footprints, [west, east, box(0, 0, 1, 1)])
    assert counts.tolist() == [2, 1, 0]  # rectangle and courtyard west, the L east
    assert counts.dtype == np.int64 and areas.dtype == np.float64
    assert areas.sum() == pytest.approx(sum(f.area_m2 for f in footprints))
    assert areas[1] == pytest.approx(_matching([f.geometry for f in footprints], L_SHAPE).area)


def test_written_files_read_back(footprints: list[Footprint], tmp_path: Path) -> None:
    geojson, parquet = tmp_path / "out" / "b.geojson", tmp_path / "out" / "b.parquet"
    write_footprints(
        footprints, CRS, geojson=geojson, geoparquet=parquet, properties={"model": "unet-v1"}
    )
    assert sorted(p.name for p in geojson.parent.iterdir()) == ["b.geojson", "b.parquet"]
    native, wgs84 = gpd.read_parquet(parquet), gpd.read_file(geojson)
    assert native.crs == CRS and wgs84.crs == "EPSG:4326"
    for frame in (native, wgs84):
        assert len(frame) == 3
        assert {"id", "area_m2", "perimeter_m", "model"} <= set(frame.columns)
        assert sorted(frame["id"]) == ["b000000", "b000001", "b000002"]
    back = wgs84.set_index("id").geometry.to_crs(CRS)  # the GeoJSON holds the same shapes
    assert back.symmetric_difference(native.set_index("id").geometry).area.max() < 0.01  # m²


def test_wgs84_rows_have_stable_ids_north_first(footprints: list[Footprint]) -> None:
    rows = footprints_wgs84(footprints, CRS)
    assert [fid for fid, _, _ in rows] == ["b000000", "b000001", "b000002"]
    assert rows == footprints_wgs84(list(reversed(footprints)), CRS)
    lon, lat = rows[0][1].exterior.coords[0]
    assert 10 < lon < 20 and 30 < lat < 40  # UTM 33N near its central meridian
    assert rows[0][1].exterior.is_ccw and set(rows[0][2]) == {"area_m2", "perimeter_m"}


def test_property_clashing_with_a_column_is_refused(
    footprints: list[Footprint], tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequest, match="area_m2"):
        write_footprints(footprints, CRS, geojson=tmp_path / "a.json", geoparquet=tmp_path / "a.parquet",
                         properties={"area_m2": 1})  # fmt: skip
    assert list(tmp_path.iterdir()) == []
