"""Turning vector files and caller-supplied features into rows the vector store can write.

Everything here validates before anything is written: a bad file, geometry or id raises
`IngestError` naming the offending value, and the caller's transaction never starts.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import fiona
import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from sdgcube.errors import IngestError, InvalidRequest

__all__ = [
    "FeatureRow",
    "SourceFile",
    "geometry_json",
    "infer_fields",
    "merge_fields",
    "norm_feature",
    "norm_layer_name",
    "read_vector_file",
]

WGS84 = pyproj.CRS.from_epsg(4326)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KINDS = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
_SLACK = 1e-9  # degrees: rounding in reprojection may step just past ±180
_OGR_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


@dataclass(frozen=True)
class FeatureRow:
    """One feature ready to insert: valid 2-D geometry in EPSG:4326, JSON-safe properties."""

    fid: str
    geometry: BaseGeometry
    properties: dict[str, Any]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = self.geometry.bounds
        return minx, miny, maxx, maxy


@dataclass(frozen=True)
class SourceFile:
    """What a vector file holds once read and checked."""

    crs: str
    """The file's CRS as ``EPSG:n`` where it has one, else WKT."""
    fields: dict[str, str]
    """Property name -> JSON Schema type, from the file's schema (so all-null columns are kept)."""
    rows: tuple[FeatureRow, ...]


def norm_layer_name(name: str) -> str:
    """Layer names become collection ids and URL path segments: keep them plain."""
    if not _NAME.fullmatch(name) or len(name) > 63:
        raise InvalidRequest(
            f"layer name {name!r} must start with a-z and hold only a-z, 0-9 and _ (at most 63)"
        )
    return name


def _json_value(value: Any) -> Any:
    """A JSON-safe copy of a property value (JSONB rejects NaN; dates become ISO strings)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _json_value(float(value))
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return str(value)


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (dict, "object"), (list, "array")):  # fmt: skip
        if isinstance(value, kind):
            return name
    return "string"


def merge_fields(old: Mapping[str, str], new: Mapping[str, str | None]) -> dict[str, str]:
    """Field types of a layer after more features arrive. ``None`` (only nulls seen) keeps the old
    type, or is text for a new field; a field that mixes types becomes text, except integers with
    numbers, which stay numbers."""
    merged = dict(old)
    for name, kind in new.items():
        before = merged.get(name)
        if before is None or before == kind:
            merged[name] = kind or "string"
        elif kind is not None:
            merged[name] = "number" if {before, kind} == {"integer", "number"} else "string"
    return merged


def infer_fields(rows: Iterable[FeatureRow]) -> dict[str, str | None]:
    """Field types from property values, for features that come without a file schema; ``None``
    for a field whose values are all null, whose type is not known yet."""
    fields: dict[str, str | None] = {}
    for row in rows:
        for key, value in row.properties.items():
            kind, before = _json_type(value), fields.get(key)
            if before is None or kind is None:
                fields[key] = before or kind
            else:
                fields[key] = merge_fields({key: before}, {key: kind})[key]
    return fields


def _repair(geometry: BaseGeometry, where: str) -> BaseGeometry:
    """Make an invalid geometry valid without changing its kind: a self-touching polygon stays
    polygonal instead of turning into a collection with stray lines."""
    fixed = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    if fixed.geom_type not in _KINDS:
        dim = shapely.get_dimensions(geometry)
        parts = [part for part in shapely.get_parts(fixed) if shapely.get_dimensions(part) == dim]
        fixed = shapely.union_all(parts) if parts else shapely.Polygon()
    if fixed.is_empty or fixed.geom_type not in _KINDS:
        raise IngestError(f"{where}: the invalid {geometry.geom_type} cannot be repaired")
    return fixed


def _norm_geometry(
    geometry: BaseGeometry | Mapping[str, Any] | None,
    where: str,
    to_wgs84: pyproj.Transformer | None,
) -> BaseGeometry:
    if geometry is None:
        raise IngestError(f"{where}: no geometry")
    try:
        geom = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise IngestError(f"{where}: not a GeoJSON geometry ({exc})") from None
    if geom.is_empty:
        raise IngestError(f"{where}: empty geometry")
    if geom.geom_type not in _KINDS:
        raise IngestError(f"{where}: {geom.geom_type} is not a point, line or polygon geometry")
    geom = shapely.force_2d(geom)
    if to_wgs84 is not None:
        geom = shapely.transform(
            geom, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
        )
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise IngestError(f"{where}: coordinates fall outside the CRS's area of use")
    if (np.abs(xy) > (180 + _SLACK, 90 + _SLACK)).any():
        raise IngestError(
            f"{where}: coordinates beyond longitude ±180 or latitude ±90 (not EPSG:4326?)"
        )
    return geom if geom.is_valid else _repair(geom, where)


def norm_feature(
    fid: str, geometry: BaseGeometry | Mapping[str, Any] | None, properties: Mapping[str, Any], *,
    where: str, to_wgs84: pyproj.Transformer | None = None,
) -> FeatureRow:  # fmt: skip
    """A feature as the store keeps it; ``to_wgs84`` reprojects from the source CRS first."""
    props = {str(key): _json_value(value) for key, value in properties.items()}
    return FeatureRow(fid, _norm_geometry(geometry, where, to_wgs84), props)


def _open_layer(path: Path, layer: str | None) -> str:
    if not path.is_file():
        raise IngestError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise IngestError(f"cannot read {path}: permission denied")
    try:
        names = fiona.listlayers(path)
    except fiona.errors.FionaError as exc:
        raise IngestError(f"{path} is not a vector file GDAL can read: {exc}") from None
    if layer is not None:
        if layer not in names:
            raise IngestError(f"{path} has no layer {layer!r}; it has {', '.join(names)}")
        return layer
    if len(names) != 1:
        raise IngestError(f"{path} holds {len(names)} layers ({', '.join(names)}): choose one")
    return names[0]


def _ogr_type(kind: str) -> str:
    """JSON Schema type of an OGR field type as fiona spells it: ``str:80``, ``int64``,
    ``float:24.15``, ``List[str]``; dates and times are served as ISO strings."""
    if kind.startswith("List"):
        return "array"
    return _OGR_TYPES.get(kind.split(":")[0].rstrip("0123456789"), "string")


def _source_crs(path: Path, src: fiona.Collection) -> pyproj.CRS:
    if src.crs:
        return pyproj.CRS.from_wkt(src.crs.to_wkt())
    if src.driver == "GeoJSON":  # RFC 7946: GeoJSON is WGS 84 unless it says otherwise
        return WGS84
    raise IngestError(f"{path} has no CRS (a shapefile needs its .prj)")


def _fid(index: int, props: Mapping[str, Any], id_field: str | None, where: str) -> str:
    if id_field is None:
        return str(index + 1)
    value = props.get(id_field)
    if value is None or value == "":
        raise IngestError(f"{where}: id field {id_field!r} is empty")
    return str(_json_value(value))


def _read_rows(
    path: Path, src: fiona.Collection, crs: pyproj.CRS, id_field: str | None
) -> list[FeatureRow]:
    to_wgs84 = None if crs.equals(WGS84, ignore_axis_order=True) else (
        pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    )  # fmt: skip
    rows: list[FeatureRow] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(src):
        where = f"{path.name}: feature {index + 1}"
        props = dict(feature.properties or {})
        fid = _fid(index, props, id_field, where)
        if fid in seen:
            raise IngestError(
                f"{path.name}: id field {id_field!r} is not unique: {fid!r} in features {seen[fid]} and {index + 1}"
            )
        seen[fid] = index + 1
        rows.append(norm_feature(fid, feature.geometry, props, where=where, to_wgs84=to_wgs84))
    return rows


def read_vector_file(
    path: Path, *, layer: str | None = None, id_field: str | None = None
) -> SourceFile:
    """Read, reproject to EPSG:4326 and check every feature of one layer of a GeoPackage,
    GeoJSON file or Shapefile (anything OGR reads). The whole layer is held in memory, which suits
    boundary files (thousands of units), not millions of features."""
    chosen = _open_layer(path, layer)
    try:
        with fiona.open(path, layer=chosen) as src:
            crs = _source_crs(path, src)
            fields = {name: _ogr_type(kind) for name, kind in src.schema["properties"].items()}
            if id_field is not None and id_field not in fields:
                raise IngestError(
                    f"{path.name} has no field {id_field!r}; it has {', '.join(fields) or 'none'}"
                )
            rows = _read_rows(path, src, crs, id_field)
    except (fiona.errors.FionaError, OSError) as exc:
        raise IngestError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise IngestError(f"{path} has no features")
    authority = crs.to_authority()
    return SourceFile(":".join(authority) if authority else crs.to_wkt(), fields, tuple(rows))


def geometry_json(geometry: BaseGeometry) -> str:
    """GeoJSON text of a geometry, as stored."""
    return json.dumps(mapping(geometry), separators=(",", ":"))
