"""Normalising what callers pass to ``Cube.load`` once, at the boundary, into ODC's terms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
from odc.geo import CRS
from odc.geo.crs import norm_crs
from odc.geo.geom import Geometry

from sdgcube.errors import InvalidRequest

__all__ = [
    "BBox",
    "TimeRange",
    "norm_bbox",
    "norm_crs_or_none",
    "norm_geometry",
    "norm_resolution",
    "norm_time",
    "northing_first",
]  # fmt: skip

BBox = tuple[float, float, float, float]
TimeRange = tuple[str, str]
TimeLike = str | date | datetime | Sequence[str | date | datetime | None]


def norm_bbox(bbox: Sequence[float] | str) -> BBox:
    """``(minx, miny, maxx, maxy)`` from a sequence or a comma-separated string."""
    if isinstance(bbox, str):
        parts: Sequence[Any] = [p for p in bbox.split(",") if p.strip()]
    else:
        parts = bbox
    try:
        values = tuple(float(v) for v in parts)
    except (TypeError, ValueError):
        raise InvalidRequest(f"bbox {bbox!r} must be four numbers minx,miny,maxx,maxy") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidRequest(f"bbox {bbox!r} must be four finite numbers minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = values
    if minx >= maxx or miny >= maxy:
        raise InvalidRequest(f"bbox {bbox!r} is empty: min must be below max on both axes")
    return minx, miny, maxx, maxy


def _timestamp(value: str | date | datetime, *, end: bool) -> pd.Timestamp:
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    try:
        period = pd.Period(text)
    except (ValueError, TypeError):
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise InvalidRequest(f"time {value!r} is not an ISO 8601 date or date-time") from None
        return stamp.tz_convert(None) if stamp.tzinfo else stamp
    # A year or month means the whole of it: its start for a range's start, its end for its end.
    return period.end_time if end else period.start_time


def norm_time(time: TimeLike | None) -> TimeRange | None:
    """A closed ISO range from one instant/period or a ``(start, end)`` pair; ``None``/``..`` is open."""
    if time is None:
        return None
    if isinstance(time, str) and "/" in time:
        time = time.split("/")
    start: str | date | datetime | None
    end: str | date | datetime | None
    if isinstance(time, (str, date, datetime)):
        start, end = time, time
    elif len(time) == 2:
        start, end = time
    else:
        raise InvalidRequest(f"time {time!r} must be an instant or a (start, end) pair")
    lo = pd.Timestamp.min if start is None or start in ("", "..") else _timestamp(start, end=False)
    hi = pd.Timestamp.max if end is None or end in ("", "..") else _timestamp(end, end=True)
    if lo > hi:
        raise InvalidRequest(f"time range {time!r} ends before it starts")
    return lo.isoformat(), hi.isoformat()


def norm_crs_or_none(crs: Any) -> CRS | None:
    if crs is None:
        return None
    try:
        return norm_crs(crs)
    except Exception:  # noqa: BLE001 - pyproj and odc-geo refuse a CRS with several types
        raise InvalidRequest(f"CRS {crs!r} is not a known coordinate reference system") from None


def norm_resolution(resolution: float | Sequence[float] | None) -> tuple[float, float] | None:
    """``(x, y)`` pixel size in CRS units, both positive."""
    if resolution is None:
        return None
    values = (resolution, resolution) if isinstance(resolution, (int, float)) else tuple(resolution)
    if len(values) != 2 or not all(
        isinstance(v, (int, float)) and v != 0 and math.isfinite(v) for v in values
    ):
        raise InvalidRequest(f"resolution {resolution!r} must be one or two non-zero numbers")
    return abs(float(values[0])), abs(float(values[1]))


def norm_geometry(geometry: Any, crs: Any = "EPSG:4326") -> Geometry:
    """An odc-geo Geometry from GeoJSON (dict or Feature), a shapely geometry or a Geometry."""
    if isinstance(geometry, Geometry):
        return geometry
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    try:
        result = Geometry(geometry, crs=norm_crs_or_none(crs))
    except Exception as exc:  # noqa: BLE001 - shapely and odc-geo refuse bad GeoJSON with several types
        raise InvalidRequest(f"geometry is not valid GeoJSON: {exc}") from None
    if result.is_empty or not result.geom.is_valid:
        raise InvalidRequest("geometry is empty or invalid")
    return result


def northing_first(crs: Any) -> bool:
    """True when a CRS's first axis is northing and its second easting (EPSG:4326, EPSG:3035).

    OGC requests give coordinates in the CRS's own axis order. Polar stereographic CRSs call both
    axes north/south; their first axis is still x, so they are not swapped."""
    from pyproj import CRS as ProjCRS

    axes = ProjCRS.from_user_input(crs).axis_info
    return (
        len(axes) >= 2
        and axes[0].direction in ("north", "south")
        and axes[1].direction in ("east", "west")
    )
