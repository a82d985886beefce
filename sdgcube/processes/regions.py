"""Where an indicator is computed and reported: an area plus the reporting units inside it.

A request names a bbox, a GeoJSON geometry, or unit ids of a vector layer (a Features
collection such as ``admin_units``). The units are what per-unit tables report on; without a
layer the whole area is one unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize
from pydantic import Field
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from sdgcube.datacube.cube import Cube
from sdgcube.errors import InvalidRequest, UnknownCollection
from sdgcube.processes.area import AreaInputs, check_limit, geodesic_km2

__all__ = ["Region", "RegionInputs", "Unit", "resolve_region", "unit_index_raster"]


class RegionInputs(AreaInputs):
    """Area inputs plus the reporting units (a vector layer and, optionally, some of its ids)."""

    units_layer: str | None = Field(
        "admin_units",
        description="Vector layer (Features collection) whose polygons are the reporting units",
    )
    unit_ids: list[str] | None = Field(
        None, description="Only these units; without bbox/geometry their union is the area"
    )


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    geometry: BaseGeometry
    """WGS 84."""


@dataclass(frozen=True)
class Region:
    geometry: BaseGeometry
    """The area to load, WGS 84."""
    units: tuple[Unit, ...]

    def load_area(self) -> dict[str, Any]:
        return {"geometry": mapping(self.geometry)}


def _units(inputs: RegionInputs, cube: Cube, area: BaseGeometry | None) -> list[Unit]:
    if inputs.units_layer is None:
        return []
    store = cube.vectors
    try:
        layer = store.get_layer(inputs.units_layer)
    except UnknownCollection:
        raise InvalidRequest(
            f"units_layer {inputs.units_layer!r} is not a vector layer of this server"
        ) from None
    features, _ = store.query_features(
        layer.name,
        bbox=area.bounds if area is not None else None,
        limit=10_000,
        ids=inputs.unit_ids,
    )
    if inputs.unit_ids:
        missing = sorted(set(inputs.unit_ids) - {f.fid for f in features})
        if missing:
            raise InvalidRequest(f"unit_ids {missing} are not in layer {inputs.units_layer!r}")
    name_field = next(
        (k for k in ("name", "NAME", "title") if features and k in features[0].properties), None
    )
    units = []
    for feature in features:
        geometry = shape(feature.geometry)
        if area is not None:
            geometry = geometry.intersection(area)
        if not geometry.is_empty and geometry.area > 0:
            name = (
                str(feature.properties.get(name_field, feature.fid)) if name_field else feature.fid
            )
            units.append(Unit(feature.fid, name, geometry))
    return units


def resolve_region(inputs: RegionInputs, cube: Cube, product: str) -> Region:
    """The area and units of a request; the area over the job limit is refused (LimitExceeded)."""
    area = inputs.shape()
    units = _units(inputs, cube, area)
    if area is None and inputs.unit_ids:
        area = unary_union([u.geometry for u in units])
    if area is None:
        datasets = cube.datasets(product)
        if not datasets:
            raise InvalidRequest(f"product {product!r} holds no datasets")
        area = unary_union([shape(ds.extent.to_crs("EPSG:4326").json) for ds in datasets])
    if inputs.units_layer is not None and not units:
        raise InvalidRequest(f"no unit of layer {inputs.units_layer!r} lies in the requested area")
    check_limit(geodesic_km2(area), cube.settings.limits.max_job_area_km2)
    if not units:
        units = [Unit("area", "requested area", area)]
    return Region(geometry=area, units=tuple(units))


def unit_index_raster(region: Region, geobox: GeoBox) -> np.ndarray:
    """int32 (y, x): 0 outside every unit, i + 1 inside ``region.units[i]`` (first unit wins)."""
    index = np.zeros(geobox.shape, dtype="int32")
    for i, unit in enumerate(region.units, start=1):
        inside = rasterize(
            Geometry(mapping(unit.geometry), "EPSG:4326").to_crs(geobox.crs), geobox
        ).values
        index[(index == 0) & inside] = i
    return index
