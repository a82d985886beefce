"""Building footprints from a segmentation model's building mask.

A mask read window by window is polygonised strip by strip (``polygonise_strips``), the polygons
are regularised into straight, orthogonal edges (``regularise``, with ``buildingregulariser``),
counted per statistical unit (``count_per_unit``) and written out (``write_footprints``,
``footprints_wgs84`` for the vector store). Pure functions: no index, no server.

Geometries are in the mask's projected CRS (metres) until they are written or published.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from buildingregulariser import regularize_geodataframe
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from sdgcube.errors import InvalidRequest
from sdgcube.models._polygonise import polygonise_strips

__all__ = [
    "Footprint",
    "RegularisationParams",
    "count_per_unit",
    "dominant_angle_deg",
    "footprints_wgs84",
    "polygonise_strips",
    "regularise",
    "write_footprints",
]

_COLUMNS = ("id", "area_m2", "perimeter_m")


@dataclass(frozen=True)
class Footprint:
    """One regularised building."""

    geometry: Polygon
    """In the mask's CRS (projected, metres)."""
    area_m2: float
    perimeter_m: float


@dataclass(frozen=True)
class RegularisationParams:
    """Settings handed to ``buildingregulariser.regularize_geodataframe`` (distances in metres).

    The defaults suit masks of about 0.5 m pixels: a simplification of 1.5 pixels removes the
    staircase of pixel edges before the dominant direction is sought (at 1 pixel the library's
    direction was off by 3-6 degrees on rotated rectangles in our trials)."""

    simplify_tolerance_m: float = 0.75
    """Douglas-Peucker tolerance before regularising, and the library's clean-up scale."""
    parallel_threshold_m: float = 1.0
    """Parallel edges closer than this are merged into one."""
    allow_45_degree: bool = False
    """Also allow edges at 45 degrees to the dominant direction (off: orthogonal edges only)."""
    allow_circles: bool = False
    """Replace near-circular buildings with circles (off: every edge stays straight)."""
    rectangle_iou: float = 0.9
    """A building without holes whose polygon overlaps, by at least this IoU, the rectangle with its
    area, centroid, dominant direction and second moments becomes that rectangle: the library keeps
    pixel staircases on slanted edges (20 corners on a rotated rectangle in our trials), and most
    buildings are rectangles. Above 1: never."""


def _moment_rectangle(polygon: Polygon) -> Polygon:
    """The rectangle along ``polygon``'s dominant direction whose side lengths give the same second
    moments about the centroid (a side a has variance a²/12): a staircase's steps average out."""
    angle = dominant_angle_deg(polygon)
    centre = polygon.centroid
    upright = affinity.rotate(orient(polygon), -angle, origin=centre)
    xy = np.asarray(upright.exterior.coords) - (centre.x, centre.y)
    x0, y0, x1, y1 = xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]
    cross = x0 * y1 - x1 * y0
    area = cross.sum() / 2
    var_x = (cross * (x0**2 + x0 * x1 + x1**2)).sum() / 12 / area
    var_y = (cross * (y0**2 + y0 * y1 + y1**2)).sum() / 12 / area
    half_a, half_b = np.sqrt(3 * var_x), np.sqrt(3 * var_y)
    rectangle = box(centre.x - half_a, centre.y - half_b, centre.x + half_a, centre.y + half_b)
    return affinity.rotate(rectangle, angle, origin=centre)


def _squared(polygon: Polygon, least_iou: float) -> Polygon:
    if polygon.interiors or least_iou > 1:
        return polygon
    rectangle = _moment_rectangle(polygon)
    union = polygon.union(rectangle).area
    return (
        rectangle
        if union > 0 and polygon.intersection(rectangle).area / union >= least_iou
        else polygon
    )


def _regularise_all(polygons: list[Polygon], params: RegularisationParams) -> list[Polygon]:
    """The library's regularised polygons, flattened to single polygons."""
    frame = gpd.GeoDataFrame(geometry=polygons)
    with warnings.catch_warnings():
        # It warns when it keeps a ring unchanged (too few vertices); the ring is still usable.
        warnings.simplefilter("ignore", UserWarning)
        result = regularize_geodataframe(
            frame, num_cores=1, simplify=True, simplify_tolerance=params.simplify_tolerance_m,
            parallel_threshold=params.parallel_threshold_m, allow_45_degree=params.allow_45_degree,
            allow_circles=params.allow_circles,
        )  # fmt: skip
    out: list[Polygon] = []
    for geom in result.geometry:
        if isinstance(geom, Polygon):
            out.append(geom)
        elif isinstance(
            geom, MultiPolygon
        ):  # the library's clean-up buffer can split a thin part off
            out.extend(geom.geoms)
    return out


def regularise(
    polygons: Iterable[Polygon],
    *,
    min_area_m2: float = 4.0,
    params: RegularisationParams = RegularisationParams(),
) -> list[Footprint]:
    """Footprints with straight edges parallel or perpendicular to each building's dominant
    direction (``buildingregulariser``); holes are kept, each hole regularised on its own direction.

    Polygons smaller than ``min_area_m2`` before or after regularising are dropped; area and
    perimeter are those of the regularised polygon."""
    kept = [p for p in polygons if not p.is_empty and p.area >= min_area_m2]
    if not kept:
        return []
    return [
        Footprint(geometry=p, area_m2=float(p.area), perimeter_m=float(p.length))
        for p in (_squared(r, params.rectangle_iou) for r in _regularise_all(kept, params))
        if p.area >= min_area_m2
    ]


def dominant_angle_deg(polygon: Polygon) -> float:
    """The direction of a polygon's edges modulo 90 degrees, in [0, 90): the length-weighted mean
    of the edge directions of all its rings, counted four times round so 0 and 90 agree."""
    edges = [
        np.diff(np.asarray(ring.coords), axis=0) for ring in (polygon.exterior, *polygon.interiors)
    ]
    vectors = np.concatenate(edges)
    angles = np.arctan2(vectors[:, 1], vectors[:, 0])
    mean = np.sum(np.hypot(vectors[:, 0], vectors[:, 1]) * np.exp(4j * angles))
    return float(np.degrees(np.angle(mean)) / 4 % 90)


def count_per_unit(
    footprints: Sequence[Footprint], units: Sequence[BaseGeometry]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(count, footprint area in m²) per unit. A footprint belongs to the unit holding its
    representative point; where units overlap or share a border it belongs to the first one."""
    counts = np.zeros(len(units), dtype=np.int64)
    areas = np.zeros(len(units), dtype=np.float64)
    if not footprints or not units:
        return counts, areas
    points = shapely.point_on_surface([f.geometry for f in footprints])
    which, unit = shapely.STRtree(list(units)).query(points, predicate="intersects")
    first = np.full(len(footprints), -1, dtype=np.int64)
    for i, u in sorted(zip(which.tolist(), unit.tolist(), strict=True), reverse=True):
        first[i] = u  # reverse order: the lowest unit index is written last
    held = first >= 0
    np.add.at(counts, first[held], 1)
    np.add.at(areas, first[held], np.array([f.area_m2 for f in footprints])[held])
    return counts, areas


def _ordered(footprints: Sequence[Footprint]) -> list[tuple[str, Footprint]]:
    """Stable ids "b000000", ... in order of (row, col) of each representative point: north to
    south, then west to east, so the same buildings get the same ids whatever the strip size."""
    points = [f.geometry.representative_point() for f in footprints]
    order = sorted(range(len(footprints)), key=lambda i: (-points[i].y, points[i].x))
    return [(f"b{n:06d}", footprints[i]) for n, i in enumerate(order)]


def _to_wgs84(geometry: Polygon, transformer: pyproj.Transformer) -> Polygon:
    moved = shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )
    return Polygon(
        shapely.orient_polygons(moved)
    )  # RFC 7946: exterior anticlockwise, holes clockwise


def footprints_wgs84(
    footprints: Sequence[Footprint], crs: str
) -> list[tuple[str, Polygon, dict[str, float]]]:
    """(id, geometry in EPSG:4326 lon/lat, {area_m2, perimeter_m}) rows for
    ``VectorStore.upsert_layer_features``."""
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return [
        (
            fid,
            _to_wgs84(f.geometry, transformer),
            {"area_m2": f.area_m2, "perimeter_m": f.perimeter_m},
        )
        for fid, f in _ordered(footprints)
    ]


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_footprints(
    footprints: Sequence[Footprint], crs: str, *, geojson: Path, geoparquet: Path,
    properties: Mapping[str, Any] = {},  # read only, never mutated
) -> None:  # fmt: skip
    """GeoJSON in EPSG:4326 (RFC 7946) and GeoParquet in the native ``crs``, columns id, area_m2,
    perimeter_m and one column per entry of ``properties`` (the same value on every row)."""
    clash = sorted(set(properties) & {*_COLUMNS, "geometry"})
    if clash:
        raise InvalidRequest(f"footprint properties may not be named {', '.join(map(repr, clash))}")
    rows = _ordered(footprints)
    frame = gpd.GeoDataFrame(
        {"id": [fid for fid, _ in rows], "area_m2": [f.area_m2 for _, f in rows],
         "perimeter_m": [f.perimeter_m for _, f in rows], **{k: [v] * len(rows) for k, v in properties.items()}},
        geometry=[f.geometry for _, f in rows], crs=crs,
    )  # fmt: skip
    _replace_atomically(geoparquet, lambda tmp: frame.to_parquet(tmp, index=False))
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": fid,
                "geometry": mapping(geometry),
                "properties": {"id": fid, **props, **properties},
            }
            for fid, geometry, props in footprints_wgs84(footprints, crs)
        ],
    }
    text = json.dumps(collection, default=str)
    _replace_atomically(geojson, lambda tmp: tmp.write_text(text, encoding="utf-8"))
