"""Very-high-resolution (0.5 m) RGB chips of the demo town with building label masks.

A chip is meant to be hard enough that a model scoring well on it has learned buildings, not
colours: buildings are rectangles, L-, T- and courtyard shapes from 3 to 25 m, mostly aligned with
the chip's street grid, some in terraces of touching houses; roofs come in colours that bare soil,
roads and trees share, half of them gabled (two halves of different brightness); every building
casts a shadow; ground is grass with patches of bare soil, crossed by asphalt roads and dotted with
trees, with paved yards in roof colours. Labels mark building pixels exactly (shadows, trees
and yards are background).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.features import rasterize
from scipy.ndimage import zoom
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union

__all__ = ["CHIP_PIXEL", "CHIP_SIZE", "GABLE_SHADE", "GROUND_COLOURS", "ROOF_COLOURS", "SHADOW_SHADE", "Chip",
           "make_chip"]  # fmt: skip

CHIP_SIZE = 256
CHIP_PIXEL = 0.5
_SHAPE = (CHIP_SIZE, CHIP_SIZE)
ROOF_COLOURS = np.array([
    [178, 60, 48], [150, 150, 155], [225, 225, 215], [70, 90, 140], [120, 80, 60],
    [112, 112, 110], [135, 105, 80], [60, 95, 60], [95, 70, 60], [190, 170, 140],
])  # fmt: skip
"""Terracotta, concrete, white, blue metal, brown, asphalt-grey, soil-brown, green metal, dark
brown, sand: several on purpose alike the ground, road and tree colours below."""
_GRASS, _SOIL = np.array([95, 125, 70]), np.array([135, 105, 80])
_ASPHALT, _TREE = np.array([110, 110, 108]), np.array([50, 85, 45])
_PAVING = np.array([[150, 150, 155], [190, 170, 140], [205, 205, 195]])
"""Concrete, sand and pale stone: the colours of three roofs."""
GROUND_COLOURS = np.array([_GRASS, _SOIL, _ASPHALT, _TREE, *_PAVING])
SHADOW_SHADE, GABLE_SHADE = 0.5, 0.8
"""Brightness of ground in a building's shadow, and of a gabled roof's half facing away."""
_SUN = np.array([4.0, 3.0])
"""Shadow offset in pixels (x, y): the sun stands to the north-west."""


@dataclass(frozen=True)
class Chip:
    rgb: np.ndarray
    """(3, y, x) uint8, never 0 (0 is nodata)."""
    labels: np.ndarray
    """(y, x) uint8: 1 building, 0 background. Where two buildings touch, the pixels either side of
    the shared wall are background: a mask can then tell touching buildings apart (the usual
    remedy, since a per-pixel model sees one block of roof otherwise)."""
    building_pixels: int
    """Pixels inside some building, shared walls included."""
    footprints: tuple[Polygon, ...]
    """Each building's outline in pixel coordinates (x right, y down); touching ones separately."""

    @property
    def buildings(self) -> int:
        return len(self.footprints)

    @property
    def footprint_area_m2(self) -> float:
        return sum(p.area for p in self.footprints) * CHIP_PIXEL**2


def _outline(rng: np.random.Generator) -> Polygon:
    """A rectangle, L, T or courtyard block of 6–50 px (3–25 m) sides, centred on 0, 0."""
    width, height = rng.uniform(6, 50), rng.uniform(6, 30)
    body = box(-width / 2, -height / 2, width / 2, height / 2)
    kind = rng.choice(["rectangle", "L", "T", "courtyard"], p=[0.4, 0.25, 0.2, 0.15])
    if kind == "L":
        body = body.union(box(width / 2 - width * 0.4, height / 2 - 1, width / 2, height * 1.1))
    elif kind == "T":
        body = body.union(box(-width * 0.15, height / 2 - 1, width * 0.15, height * 1.1))
    elif kind == "courtyard" and min(width, height) > 16:
        body = body.difference(box(-width / 2 + 5, -height / 2 + 5, width / 2 - 5, height / 2 - 5))
    return body


def _terrace(rng: np.random.Generator) -> list[Polygon]:
    """Two to four houses side by side, sharing walls, centred on 0, 0."""
    count, width, depth = int(rng.integers(2, 5)), rng.uniform(8, 16), rng.uniform(10, 18)
    start = -count * width / 2
    return [box(start + i * width, -depth / 2, start + (i + 1) * width, depth / 2)
            for i in range(count)]  # fmt: skip


def _candidate(rng: np.random.Generator, grid_angle: float) -> list[Polygon]:
    """One building or one terrace, oriented on the street grid (or, one in five, at random)."""
    parts = _terrace(rng) if rng.random() < 0.2 else [_outline(rng)]
    angle = grid_angle + rng.normal(0, 3) if rng.random() < 0.8 else rng.uniform(0, 180)
    offset = rng.uniform(0, CHIP_SIZE, size=2)
    return [affinity.translate(affinity.rotate(p, angle, origin=(0, 0)), *offset) for p in parts]


def _place_buildings(
    rng: np.random.Generator, roads: Polygon, count: int, grid_angle: float
) -> list[Polygon]:
    placed: list[Polygon] = []
    frame = box(2, 2, CHIP_SIZE - 2, CHIP_SIZE - 2)
    for _ in range(count * 30):
        if len(placed) >= count:
            break
        parts = _candidate(rng, grid_angle)
        whole = unary_union(parts)
        clear = whole.buffer(2)
        if (
            frame.contains(whole)
            and not clear.intersects(roads)
            and not any(clear.intersects(p) for p in placed)
        ):
            placed.extend(parts)
    return placed


def _ground(rng: np.random.Generator) -> np.ndarray:
    """(3, y, x) float: grass with smooth patches of bare soil."""
    coarse = rng.random((9, 9))
    field = zoom(coarse, CHIP_SIZE / 9, order=3)[:CHIP_SIZE, :CHIP_SIZE]
    soil = np.clip((field - 0.55) * 6, 0, 1)
    return _GRASS[:, None, None] * (1 - soil) + _SOIL[:, None, None] * soil


def _roads(rng: np.random.Generator, grid_angle: float) -> Polygon:
    """One or two asphalt roads, 8–14 px wide, along and across the street grid."""
    centre = np.array([CHIP_SIZE / 2, CHIP_SIZE / 2]) + rng.uniform(-60, 60, size=2)
    roads = []
    for turn in [0.0, 90.0][: int(rng.integers(1, 3))]:
        theta = np.radians(grid_angle + turn)
        reach = np.array([np.cos(theta), np.sin(theta)]) * 2 * CHIP_SIZE
        line = LineString([tuple(centre - reach), tuple(centre + reach)])
        roads.append(line.buffer(rng.uniform(4, 7), cap_style="flat"))
    return unary_union(roads)


def _trees(rng: np.random.Generator, keep_clear: Polygon) -> list[Polygon]:
    crowns = []
    for _ in range(int(rng.integers(10, 30))):
        centre = Point(*rng.uniform(0, CHIP_SIZE, size=2))
        crown = centre.buffer(rng.uniform(3, 9))
        if not crown.intersects(keep_clear):
            crowns.append(crown)
    return crowns


def _yards(rng: np.random.Generator, keep_clear: Polygon, grid_angle: float) -> list[Polygon]:
    """Paved yards and car parks: rectangles in roof colours that are not buildings."""
    yards = []
    for _ in range(int(rng.integers(3, 9))):
        width, height = rng.uniform(8, 36, size=2)
        yard = affinity.rotate(box(0, 0, width, height), grid_angle + rng.normal(0, 3))
        yard = affinity.translate(yard, *rng.uniform(0, CHIP_SIZE, size=2))
        if not yard.intersects(keep_clear):
            yards.append(yard)
    return yards


def _mask(shapes: list[Polygon]) -> np.ndarray:
    if not shapes:
        return np.zeros(_SHAPE, dtype=bool)
    return rasterize(shapes, out_shape=_SHAPE).astype(bool)


def _paint_roof(rgb: np.ndarray, building: Polygon, mask: np.ndarray, colour: np.ndarray,
                gabled: bool) -> None:  # fmt: skip
    """A flat roof in one colour, or a gabled one whose halves either side of the ridge (the long
    axis of its minimum rotated rectangle) catch the sun differently."""
    rgb[:, mask] = colour[:, None]
    if not gabled:
        return
    corners = np.asarray(building.minimum_rotated_rectangle.exterior.coords)[:4]
    edges = np.diff(np.vstack([corners, corners[:1]]), axis=0)
    axis = edges[np.argmax(np.hypot(*edges.T))]
    centre = np.asarray(building.centroid.coords[0])
    ys, xs = np.nonzero(mask)
    side = (xs + 0.5 - centre[0]) * axis[1] - (ys + 0.5 - centre[1]) * axis[0] > 0
    rgb[:, ys[side], xs[side]] *= GABLE_SHADE


def _texture(rng: np.random.Generator) -> np.ndarray:
    """(3, y, x) brightness noise: blotches about a metre across over a little sensor noise, as in
    real 0.5 m imagery (white noise alone would be averaged away by any overview)."""
    blotches = zoom(rng.normal(0, 8, (3, CHIP_SIZE // 2, CHIP_SIZE // 2)), (1, 2, 2), order=1)
    return blotches + rng.normal(0, 2, (3, *_SHAPE))


def make_chip(rng: np.random.Generator) -> Chip:
    grid_angle = rng.uniform(0, 90)
    rgb = _ground(rng)
    roads = _roads(rng, grid_angle)
    rgb[:, _mask([roads])] = _ASPHALT[:, None]
    buildings = _place_buildings(rng, roads, int(rng.integers(10, 22)), grid_angle)
    footprint = unary_union(buildings) if buildings else Polygon()
    for yard in _yards(rng, footprint.buffer(1), grid_angle):
        rgb[:, _mask([yard])] = _PAVING[rng.integers(len(_PAVING))][:, None]
    rgb[:, _mask([affinity.translate(b, *_SUN) for b in buildings])] *= SHADOW_SHADE
    rgb[:, _mask(_trees(rng, footprint.buffer(1)))] = _TREE[:, None]
    ids = (rasterize([(b, i) for i, b in enumerate(buildings, start=1)], out_shape=_SHAPE,
                     dtype="int32") if buildings else np.zeros(_SHAPE, dtype="int32"))  # fmt: skip
    for i, building in enumerate(buildings, start=1):
        colour = ROOF_COLOURS[rng.integers(len(ROOF_COLOURS))] + rng.normal(0, 12, 3)  # weathering
        _paint_roof(rgb, building, ids == i, colour, gabled=bool(rng.random() < 0.5))
    texture = _texture(rng)
    rgb = np.clip(np.round(rgb + texture), 1, 255).astype(np.uint8)
    labels = (ids > 0) & ~_shared_walls(ids)
    return Chip(rgb=rgb, labels=labels.astype(np.uint8), building_pixels=int((ids > 0).sum()),
                footprints=tuple(buildings))  # fmt: skip


def _shared_walls(ids: np.ndarray) -> np.ndarray:
    """bool (y, x): building pixels with a 4-neighbour in another building."""
    walls = np.zeros(ids.shape, dtype=bool)
    for axis in (0, 1):
        a, b = (ids[1:], ids[:-1]) if axis == 0 else (ids[:, 1:], ids[:, :-1])
        touching = (a > 0) & (b > 0) & (a != b)
        if axis == 0:
            walls[1:] |= touching
            walls[:-1] |= touching
        else:
            walls[:, 1:] |= touching
            walls[:, :-1] |= touching
    return walls
