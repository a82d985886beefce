"""The area a job covers: a WGS 84 bbox or a GeoJSON geometry, measured on the ellipsoid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datacube.model import Dataset
from pydantic import BaseModel, Field, model_validator
from pyproj import Geod
from shapely import clip_by_rect, make_valid, segmentize, unary_union
from shapely.errors import ShapelyError
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.cube import Cube
from sdgcube.errors import InvalidRequest, LimitExceeded

__all__ = [
    "AreaInputs",
    "check_job_area",
    "check_limit",
    "extent_km2",
    "geodesic_km2",
    "job_area_km2",
]

_GEOD = Geod(ellps="WGS84")


class AreaInputs(BaseModel):
    """Mixin for process inputs that take an area; neither given means the product's whole extent."""

    bbox: list[float] | None = Field(
        None, min_length=4, max_length=4, description="minx, miny, maxx, maxy in WGS 84 degrees"
    )
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry in WGS 84")

    @model_validator(mode="after")
    def _one_area(self) -> AreaInputs:
        if self.bbox is not None and self.geometry is not None:
            raise ValueError("give either bbox or geometry, not both")
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
                raise ValueError(
                    f"bbox {self.bbox} must be minx < maxx, miny < maxy within WGS 84 bounds"
                )
        if self.geometry is not None:
            try:
                geom = polygonal(shape(self.geometry))
            except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ValueError(f"geometry is not valid GeoJSON: {exc}") from None
            if geom.is_empty or geom.area == 0:
                raise ValueError("geometry must be a non-empty polygon")
            minx, miny, maxx, maxy = geom.bounds
            if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
                raise ValueError(
                    f"geometry bounds {geom.bounds} are not WGS 84 longitudes and latitudes"
                )
        return self

    def shape(self) -> BaseGeometry | None:
        if self.bbox is not None:
            return box(*self.bbox)
        if self.geometry is not None:
            return polygonal(shape(self.geometry))
        return None

    def load_area(self) -> dict[str, Any]:
        """Keyword arguments selecting this area in ``Cube.load``."""
        if self.bbox is not None:
            return {"bbox": self.bbox}
        if self.geometry is not None:
            geom = shape(self.geometry)
            return {"geometry": self.geometry if geom.is_valid else mapping(polygonal(geom))}
        return {}


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The area a geometry encloses, repaired: a self-intersecting ring (a bow tie) becomes the
    polygons it outlines instead of an invalid shape that GEOS and ODC fail on."""
    if geom.is_valid:
        return geom
    repaired = make_valid(geom)
    parts = getattr(repaired, "geoms", [repaired])
    return unary_union([part for part in parts if part.geom_type in ("Polygon", "MultiPolygon")])


def geodesic_km2(region: BaseGeometry) -> float:
    """Area of a WGS 84 geometry on the ellipsoid, km², clipped to valid coordinates.

    Geodesic edges are not parallels and a ring spanning 360° folds onto itself (a world bbox
    measured 0 km²), so measure 90°-wide strips with edges densified to 1°.
    """
    total_m2 = 0.0
    for west in range(-180, 180, 90):
        strip = clip_by_rect(region, west, -90, west + 90, 90)
        if not strip.is_empty:
            area_m2, _ = _GEOD.geometry_area_perimeter(segmentize(strip, 1.0))
            total_m2 += abs(area_m2)
    return total_m2 / 1e6


def job_area_km2(area: AreaInputs, cube: Cube, product: str) -> float:
    """Geodesic area of the job's region; the product's extent when none was given."""
    region = area.shape()
    if region is None:
        datasets = cube.datasets(product)
        if not datasets:
            raise InvalidRequest(f"product {product!r} holds no datasets")
        return extent_km2(datasets)
    return geodesic_km2(region)


def extent_km2(datasets: Sequence[Dataset]) -> float:
    """Geodesic area of the union of the datasets' WGS 84 bounding boxes."""
    return geodesic_km2(
        unary_union(
            [box(*ds.extent.to_crs("EPSG:4326").boundingbox) for ds in datasets if ds.extent]
        )
    )


def check_limit(km2: float, limit: float) -> None:
    if km2 > limit:
        raise LimitExceeded(
            f"the job covers {km2:,.0f} km², more than this server's limit of {limit:,.0f} km²"
        )


def check_job_area(area: AreaInputs, cube: Cube, product: str) -> None:
    """Refuse a job over more than the configured ``limits.max_job_area_km2``."""
    check_limit(job_area_km2(area, cube, product), cube.settings.limits.max_job_area_km2)
