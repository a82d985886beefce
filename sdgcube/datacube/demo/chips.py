"""Very-high-resolution (0.5 m) RGB chips of the demo town with building label masks.

Buildings are rectangles and L-shapes of varied size and orientation with varied roof colours, on
grass with a paved road; labels mark building pixels exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.features import rasterize
from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.ops import unary_union

__all__ = ["CHIP_PIXEL", "CHIP_SIZE", "Chip", "make_chip"]

CHIP_SIZE = 256
CHIP_PIXEL = 0.5
_ROOFS = np.array([[178, 60, 48], [150, 150, 155], [225, 225, 215], [70, 90, 140], [120, 80, 60]])


@dataclass(frozen=True)
class Chip:
    rgb: np.ndarray
    """(3, y, x) uint8, never 0 (0 is nodata)."""
    labels: np.ndarray
    """(y, x) uint8: 1 building, 0 background."""
    buildings: int


def _footprint(rng: np.random.Generator) -> Polygon:
    """A rectangle or L-shape of 8-40 px sides (4-20 m), rotated at random, centred on 0, 0."""
    width, height = rng.uniform(8, 40, size=2)
    shape = box(-width / 2, -height / 2, width / 2, height / 2)
    if rng.random() < 0.35:
        wing = box(width / 2 - width * 0.4, height / 2, width / 2, height / 2 + height * 0.6)
        shape = unary_union([shape, wing])
    return affinity.rotate(shape, rng.uniform(0, 180), origin=(0, 0))


def _place_buildings(rng: np.random.Generator, road: Polygon, count: int) -> list[Polygon]:
    placed: list[Polygon] = []
    frame = box(2, 2, CHIP_SIZE - 2, CHIP_SIZE - 2)
    for _ in range(count * 20):
        if len(placed) == count:
            break
        candidate = affinity.translate(_footprint(rng), *rng.uniform(0, CHIP_SIZE, size=2))
        clear = candidate.buffer(3)
        if (
            frame.contains(candidate)
            and not clear.intersects(road)
            and not any(clear.intersects(p) for p in placed)
        ):
            placed.append(candidate)
    return placed


def make_chip(rng: np.random.Generator) -> Chip:
    shape = (CHIP_SIZE, CHIP_SIZE)
    texture = rng.normal(0, 8, (3, *shape))
    rgb = np.empty((3, *shape))
    rgb[:] = np.array([95, 125, 70])[:, None, None]
    angle = rng.uniform(-30, 30)
    road = affinity.rotate(
        box(-CHIP_SIZE, CHIP_SIZE / 2 - 6, 2 * CHIP_SIZE, CHIP_SIZE / 2 + 6), angle
    )
    road_mask = rasterize([road], out_shape=shape).astype(bool)
    rgb[:, road_mask] = np.array([110, 110, 108])[:, None]
    buildings = _place_buildings(rng, road, int(rng.integers(8, 16)))
    labels = np.zeros(shape, dtype=np.uint8)
    for building in buildings:
        mask = rasterize([building], out_shape=shape).astype(bool)
        labels[mask] = 1
        rgb[:, mask] = _ROOFS[rng.integers(len(_ROOFS))][:, None]
    rgb = np.clip(np.round(rgb + texture), 1, 255).astype(np.uint8)
    return Chip(rgb=rgb, labels=labels, buildings=len(buildings))
