"""Vector layers — administrative units, per-unit result tables — kept in the index's PostgreSQL.

Plain tables in the ``sdgcube`` schema (see `_vectors_tables`), not PostGIS, so that the embedded
server serves them as well as an external PostGIS: a bbox query filters on indexed bound columns
and then tests each candidate exactly with shapely. Geometries are stored as GeoJSON in EPSG:4326,
which is what OGC API - Features serves by default.

Writes are all-or-nothing: input is validated before the transaction starts, and a layer is
replaced or extended inside one transaction, so readers see the old layer or the new one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube._vectors_input import (
    FeatureRow,
    infer_fields,
    merge_fields,
    norm_feature,
    norm_layer_name,
    read_vector_file,
)
from sdgcube.datacube._vectors_sql import (
    insert_features,
    intersecting,
    order_by,
    property_filter,
    query_boxes,
    refresh_extent,
)
from sdgcube.datacube._vectors_tables import ensure_tables, features, layers, lock_layer
from sdgcube.datacube.database import resolve_index
from sdgcube.datacube.query import BBox
from sdgcube.errors import IndexUnavailable, InvalidRequest, UnknownCollection
from sdgcube.settings import Settings

__all__ = [
    "BBox",
    "FeatureInput",
    "VectorFeature",
    "VectorLayer",
    "VectorStore",
    "load_vector_file",
    "vector_store_at",
]

FeatureInput = tuple[str, BaseGeometry | Mapping[str, Any], Mapping[str, Any]]
"""(fid, geometry in EPSG:4326 as shapely or a GeoJSON dict, properties) for `upsert_layer_features`."""

# Placeholders for a new layer's row, set from its features before the transaction commits.
_NO_EXTENT = {"minx": 0.0, "miny": 0.0, "maxx": 0.0, "maxy": 0.0, "feature_count": 0}


@dataclass(frozen=True)
class VectorLayer:
    """A stored layer: one OGC API - Features collection."""

    name: str
    title: str | None
    description: str | None
    crs: str
    """CRS of the source the layer was loaded from; stored geometries are EPSG:4326."""
    bbox: BBox
    """Extent of all features in EPSG:4326."""
    id_field: str | None
    """Property the feature ids come from; None when ids number the source features from 1."""
    fields: Mapping[str, str]
    """Property name -> JSON Schema type (string, integer, number, boolean, array, object)."""
    feature_count: int
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class VectorFeature:
    """One feature of a layer, as served."""

    fid: str
    geometry: Mapping[str, Any]
    """GeoJSON geometry in EPSG:4326."""
    properties: Mapping[str, Any]

    def to_geojson(self) -> dict[str, Any]:
        return {"type": "Feature", "id": self.fid, "geometry": dict(self.geometry),
                "properties": dict(self.properties)}  # fmt: skip


@dataclass(frozen=True)
class _LayerMeta:
    """What a writer says about a layer; None keeps the stored value of an existing layer."""

    title: str | None = None
    description: str | None = None
    id_field: str | None = None
    crs: str | None = None

    def changes(self) -> dict[str, str]:
        """The values to set on an existing layer: those the writer gave."""
        given = {"title": self.title, "description": self.description, "id_field": self.id_field}
        return {key: value for key, value in given.items() if value is not None}


def _layer(row: sa.RowMapping) -> VectorLayer:
    return VectorLayer(
        name=row["name"], title=row["title"], description=row["description"], crs=row["crs"],
        bbox=(row["minx"], row["miny"], row["maxx"], row["maxy"]), id_field=row["id_field"],
        fields=row["fields"], feature_count=row["feature_count"], created=row["created"], updated=row["updated"],
    )  # fmt: skip


def _feature(row: sa.Row[Any], layer: VectorLayer) -> VectorFeature:
    """JSONB sorts object keys; properties come back in the layer's field order instead."""
    props = {key: row.properties[key] for key in layer.fields if key in row.properties}
    props.update(row.properties)
    return VectorFeature(row.fid, json.loads(row.geometry), props)


class VectorStore:
    """Reads and writes vector layers through one SQLAlchemy engine.

    A cube has one (``Cube.vectors``); `vector_store_at` opens one for a single piece of work."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        with self._translated():
            ensure_tables(engine)

    def __deepcopy__(self, memo: dict[int, Any]) -> VectorStore:
        # A handle on shared state: copies of a configuration that holds it share the store.
        return self

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.OperationalError as exc:
            raise IndexUnavailable(
                f"the vector store cannot reach the index database: {exc.orig}"
            ) from exc

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A snapshot: the count and the page of one query come from the same state of the layer."""
        with self._translated(), self._engine.connect() as conn:
            yield conn.execution_options(isolation_level="REPEATABLE READ")

    def _get_layer(self, conn: sa.Connection, name: str) -> VectorLayer:
        row = conn.execute(sa.select(layers).where(layers.c.name == name)).mappings().first()
        if row is None:
            raise UnknownCollection(name)
        return _layer(row)

    def list_layers(self) -> list[VectorLayer]:
        with self._reading() as conn:
            return [
                _layer(row)
                for row in conn.execute(sa.select(layers).order_by(layers.c.name)).mappings()
            ]

    def get_layer(self, name: str) -> VectorLayer:
        with self._reading() as conn:
            return self._get_layer(conn, name)

    def get_feature(self, name: str, fid: str) -> VectorFeature | None:
        """The feature, or None where the layer has no such id; `UnknownCollection` if no layer."""
        with self._reading() as conn:
            layer = self._get_layer(conn, name)
            query = sa.select(features).where(features.c.layer == name, features.c.fid == str(fid))
            row = conn.execute(query).first()
        return None if row is None else _feature(row, layer)

    def query_features(
        self, name: str, *, bbox: Sequence[float] | None = None, limit: int = 10, offset: int = 0,
        properties: Mapping[str, Any] | None = None, sortby: Sequence[str] = (), ids: Sequence[str] | None = None,
    ) -> tuple[list[VectorFeature], int]:  # fmt: skip
        """One page of the features that match, and how many match in all.

        ``bbox`` (EPSG:4326) keeps features whose geometry intersects it exactly, boundary included;
        ``properties`` keeps features whose property equals the value (text is read as the field's
        type); ``sortby`` holds property names, ``-name`` for descending; source order breaks ties."""
        if limit < 0 or offset < 0:
            raise InvalidRequest(f"limit ({limit}) and offset ({offset}) must not be negative")
        boxes = None if bbox is None else query_boxes(bbox)
        with self._reading() as conn:
            layer = self._get_layer(conn, name)
            where = [features.c.layer == name]
            if properties:
                where.append(property_filter(name, layer.fields, properties))
            if ids is not None:
                where.append(features.c.fid.in_([str(fid) for fid in ids]))
            order = order_by(name, layer.fields, sortby)
            if boxes is None:
                count = sa.select(sa.func.count()).select_from(features).where(*where)
                matched = conn.execute(count).scalar_one()
                page = sa.select(features).where(*where).order_by(*order)
                rows = conn.execute(page.limit(limit).offset(offset))
                return [_feature(row, layer) for row in rows], matched
            hits = intersecting(conn, where, order, boxes)
            wanted = hits[offset : offset + limit]
            query = sa.select(features).where(features.c.layer == name, features.c.fid.in_(wanted))
            by_fid = {row.fid: row for row in conn.execute(query)}
        return [_feature(by_fid[fid], layer) for fid in wanted], len(hits)

    def load_file(
        self, path: Path, *, name: str, id_field: str | None = None, layer: str | None = None,
        title: str | None = None, description: str | None = None,
    ) -> VectorLayer:  # fmt: skip
        """Load one layer of a vector file as layer ``name``, replacing any layer of that name.

        The file is read and checked completely first: on any error the stored layer is untouched."""
        name = norm_layer_name(name)
        source = read_vector_file(Path(path), layer=layer, id_field=id_field)
        meta = _LayerMeta(title=title, description=description, id_field=id_field, crs=source.crs)
        return self._write(name, source.rows, source.fields, meta, replace=True)

    def upsert_layer_features(
        self, name: str, items: Iterable[FeatureInput], *, title: str | None = None,
        description: str | None = None, id_field: str | None = None, replace: bool = False,
    ) -> VectorLayer:  # fmt: skip
        """Publish features as layer ``name``: create the layer if new, else insert new ids and
        overwrite existing ones (``replace=True`` drops the layer's other features too).

        For code that computes per-unit results: geometries must already be in EPSG:4326."""
        name = norm_layer_name(name)
        rows = [norm_feature(str(fid), geometry, props, where=f"layer {name!r}: feature {fid!r}")
                for fid, geometry, props in items]  # fmt: skip
        fids = [row.fid for row in rows]
        if len(set(fids)) != len(fids):
            twice = sorted({fid for fid in fids if fids.count(fid) > 1})
            raise InvalidRequest(
                f"layer {name!r}: feature ids given more than once: {', '.join(twice[:5])}"
            )
        meta = _LayerMeta(title=title, description=description, id_field=id_field)
        return self._write(name, rows, infer_fields(rows), meta, replace=replace)

    def _write(
        self, name: str, rows: Sequence[FeatureRow], fields: Mapping[str, str | None], meta: _LayerMeta, *,
        replace: bool,
    ) -> VectorLayer:  # fmt: skip
        now = datetime.now(UTC)
        with self._translated(), self._engine.begin() as conn:
            lock_layer(conn, name)
            old = conn.execute(sa.select(layers).where(layers.c.name == name)).mappings().first()
            if old is None or replace:
                if not rows:
                    raise InvalidRequest(f"layer {name!r} would hold no features")
                kept = dict(old) if old else {"title": None, "description": None, "created": now}
                conn.execute(sa.delete(layers).where(layers.c.name == name))  # its features cascade
                conn.execute(sa.insert(layers).values(
                    name=name, title=meta.title or kept["title"], description=meta.description or kept["description"],
                    crs=meta.crs or "EPSG:4326", id_field=meta.id_field, fields=merge_fields({}, fields),
                    created=kept["created"], updated=now, **_NO_EXTENT,
                ))  # fmt: skip
            else:
                merged = merge_fields(old["fields"], fields)
                update = sa.update(layers).where(layers.c.name == name)
                conn.execute(update.values(fields=merged, updated=now, **meta.changes()))
            insert_features(conn, name, rows)
            refresh_extent(conn, name)
            return self._get_layer(conn, name)


@contextmanager
def vector_store_at(url: str) -> Iterator[VectorStore]:
    """A store over its own engine on the database at a SQLAlchemy URL (password included), for
    one-off work such as a CLI command; long-lived callers use ``Cube.vectors``."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        yield VectorStore(engine)
    finally:
        engine.dispose()


def load_vector_file(
    settings: Settings, path: Path, *, name: str, id_field: str | None = None, layer: str | None = None,
    title: str | None = None,
) -> VectorLayer:  # fmt: skip
    """Load a GeoPackage, GeoJSON file or Shapefile as layer ``name``; see `VectorStore.load_file`."""
    with vector_store_at(resolve_index(settings).url) as store:
        return store.load_file(path, name=name, id_field=id_field, layer=layer, title=title)
