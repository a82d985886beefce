"""The SQL behind the vector store's queries and writes, on plain PostgreSQL (no PostGIS)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import batched
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sdgcube.datacube._vectors_input import FeatureRow, geometry_json
from sdgcube.datacube._vectors_tables import features, layers
from sdgcube.datacube.query import BBox
from sdgcube.errors import InvalidRequest

__all__ = [
    "insert_features",
    "intersecting",
    "order_by",
    "property_filter",
    "query_boxes",
    "refresh_extent",
]

_BATCH = 1000
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "number": float,
    "boolean": lambda text: _BOOLEANS[text.lower()],
}


def query_boxes(bbox: Sequence[float]) -> list[BBox]:
    """The boxes an OGC API bbox stands for: one, or two where it crosses the antimeridian
    (minx > maxx). Unlike a load's bbox, it may be a line or a point."""
    if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
        raise InvalidRequest(f"bbox must be four finite numbers, not {list(bbox)!r}")
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if miny > maxy:
        raise InvalidRequest(f"bbox {list(bbox)!r} has its south edge above its north edge")
    if minx > maxx:
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [(minx, miny, maxx, maxy)]


def _typed(layer: str, fields: Mapping[str, str], key: str, value: Any) -> Any:
    """A filter value of the property's type: HTTP query parameters arrive as text."""
    kind = fields.get(key)
    if kind is None:
        raise InvalidRequest(f"layer {layer!r} has no property {key!r}")
    parse = _PARSERS.get(kind)
    if parse is None or not isinstance(value, str):
        return value
    try:
        typed = parse(value)
    except (KeyError, ValueError):
        typed = None
    if typed is None or (isinstance(typed, float) and not math.isfinite(typed)):
        raise InvalidRequest(
            f"property {key!r} of layer {layer!r} holds {kind} values, not {value!r}"
        )
    return typed


def property_filter(
    layer: str, fields: Mapping[str, str], properties: Mapping[str, Any]
) -> sa.ColumnElement[bool]:
    """Equality on every given property, as one JSONB containment (``@>``): 5 matches 5.0."""
    typed = {key: _typed(layer, fields, key, value) for key, value in properties.items()}
    return features.c.properties.contains(typed)


def order_by(
    layer: str, fields: Mapping[str, str], sortby: Sequence[str]
) -> list[sa.ColumnElement[Any]]:
    """``name`` or ``+name`` ascending, ``-name`` descending; source order breaks ties so that
    pages never overlap or skip."""
    clauses: list[sa.ColumnElement[Any]] = []
    for key in sortby:
        prop = key.lstrip("+-")
        if prop not in fields:
            raise InvalidRequest(f"cannot sort layer {layer!r} by {prop!r}: no such property")
        value = features.c.properties[prop]
        clauses.append((value.desc() if key.startswith("-") else value.asc()).nulls_last())
    return [*clauses, features.c.ordinal]


def intersecting(
    conn: sa.Connection,
    where: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    boxes: Sequence[BBox],
) -> list[str]:
    """Ids, in order, of the features that intersect the boxes. The bound columns pick the
    candidates; a candidate whose bounds lie inside a box needs no exact test, so its geometry
    is not even fetched."""
    c = features.c
    overlaps = [
        sa.and_(c.minx <= x1, c.maxx >= x0, c.miny <= y1, c.maxy >= y0) for x0, y0, x1, y1 in boxes
    ]
    inside = [
        sa.and_(c.minx >= x0, c.maxx <= x1, c.miny >= y0, c.maxy <= y1) for x0, y0, x1, y1 in boxes
    ]
    query = (
        sa.select(c.fid, sa.case((sa.or_(*inside), None), else_=c.geometry))
        .where(*where, sa.or_(*overlaps))
        .order_by(*order)
    )
    area = shapely.union_all([shapely.box(*b) for b in boxes])
    shapely.prepare(area)
    return [
        fid for fid, geometry in conn.execute(query)
        if geometry is None or area.intersects(shapely.from_geojson(geometry))
    ]  # fmt: skip


def insert_features(conn: sa.Connection, layer: str, rows: Sequence[FeatureRow]) -> None:
    """Insert new ids after the layer's last ordinal; overwrite existing ids in place."""
    last = sa.select(sa.func.coalesce(sa.func.max(features.c.ordinal) + 1, 0))
    start = conn.execute(last.where(features.c.layer == layer)).scalar_one()
    insert = pg_insert(features)
    changed = ("geometry", "minx", "miny", "maxx", "maxy", "properties")
    upsert = insert.on_conflict_do_update(
        index_elements=[features.c.layer, features.c.fid],
        set_={col: insert.excluded[col] for col in changed},
    )
    for chunk in batched(enumerate(rows, start), _BATCH):
        values = [
            {"layer": layer, "fid": row.fid, "ordinal": ordinal, "geometry": geometry_json(row.geometry),
             "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy, "properties": row.properties}
            for ordinal, row in chunk
            for minx, miny, maxx, maxy in [row.bounds]
        ]  # fmt: skip
        conn.execute(upsert, values)


def refresh_extent(conn: sa.Connection, layer: str) -> None:
    """Set the layer's bbox and feature count from its features, inside the writing transaction."""
    c = features.c
    extent = sa.select(
        sa.func.min(c.minx),
        sa.func.min(c.miny),
        sa.func.max(c.maxx),
        sa.func.max(c.maxy),
        sa.func.count(),
    ).where(c.layer == layer)
    minx, miny, maxx, maxy, count = conn.execute(extent).one()
    conn.execute(
        sa.update(layers)
        .where(layers.c.name == layer)
        .values(minx=minx, miny=miny, maxx=maxx, maxy=maxy, feature_count=count)
    )
