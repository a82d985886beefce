"""The one rule for longitude/latitude extents that can be published: ingest refuses what breaks
it, and the server leaves out a product already indexed with such an extent."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["LON_LAT_TOLERANCE_DEG", "off_earth"]

LON_LAT_TOLERANCE_DEG = 1.0
"""Half a pixel or rounding past the antimeridian or a pole is fine; more is not the Earth."""


def off_earth(bounds: Sequence[float]) -> str | None:
    """Why ``(west, south, east, north)`` in degrees is not an extent on the Earth, or None.

    MapProxy refuses its whole configuration over one such layer, so it must never be published."""
    if not all(math.isfinite(v) for v in bounds):
        return f"non-finite extent {tuple(bounds)}"
    west, south, east, north = bounds
    lon, lat = 180 + LON_LAT_TOLERANCE_DEG, 90 + LON_LAT_TOLERANCE_DEG
    if (
        min(west, east) < -lon
        or max(west, east) > lon
        or min(south, north) < -lat
        or max(south, north) > lat
    ):
        return f"extent {tuple(bounds)} is outside the Earth"
    return None
