"""OGC API Coverages request parameters, parsed once into a typed query and planned against a product.

Parsing and planning raise ``InvalidRequest``/``LimitExceeded`` with a message that names the
parameter; the HTTP layer turns those into 400 exception documents. The plan is a pure function of
the query and the product summary, so the pixel limit is enforced before anything is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.query import northing_first
from sdgcube.errors import InvalidRequest, LimitExceeded

__all__ = [
    "CoveragePlan",
    "CoverageQuery",
    "norm_request_crs",
    "parse_coverage_query",
    "plan_coverage",
]

FORMATS = {"json": "json", "covjson": "json", "coveragejson": "json", "gtiff": "tif", "geotiff": "tif",
           "tif": "tif", "tiff": "tif", "netcdf": "nc", "nc": "nc", "html": "json"}  # fmt: skip
_AXIS = re.compile(r"^\s*(\w+)\(([^)]*)\)\s*$")
_X_AXES = {"x", "lon", "long", "longitude", "e", "easting"}
_Y_AXES = {"y", "lat", "latitude", "n", "northing"}
_T_AXES = {"t", "time", "date", "datetime"}


@dataclass(frozen=True)
class CoverageQuery:
    bbox: tuple[float, float, float, float] | None
    """minx, miny, maxx, maxy in ``bbox_crs`` (x = east, y = north whatever the CRS's axis order)."""
    bbox_crs: CRS
    datetime: str | None
    properties: tuple[str, ...] | None
    scale_size: tuple[int, int] | None
    """Output width, height."""
    scale_factor: float | None
    format: str
    """``json`` (CoverageJSON), ``tif`` (GeoTIFF) or ``nc`` (NetCDF)."""


@dataclass(frozen=True)
class CoveragePlan:
    bbox: tuple[float, float, float, float]
    """In the product's native CRS."""
    resolution: tuple[float, float]
    width: int
    height: int


def norm_request_crs(value: str | None) -> CRS:
    """A CRS from an OGC URI, ``EPSG:n`` or ``[EPSG:n]`` (curie); CRS84 when not given."""
    if not value:
        return CRS.from_user_input("OGC:CRS84")
    text = value.strip().strip("[]")
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise InvalidRequest(f"bbox-crs {value!r} is not a CRS this server knows") from None


def _east_north(values: list[float], crs: CRS) -> tuple[float, float, float, float]:
    """OGC bbox values are in the CRS's axis order: swap them when it is northing first."""
    minx, miny, maxx, maxy = values
    if northing_first(crs):
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    return minx, miny, maxx, maxy


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidRequest(f"{name} {text!r} must be comma-separated numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidRequest(f"{name} {text!r} must be finite numbers")
    return values


def _bbox(params: Mapping[str, str], crs: CRS) -> tuple[float, float, float, float] | None:
    if "bbox" not in params:
        return None
    values = _floats(params["bbox"], "bbox")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidRequest(f"bbox {params['bbox']!r} must have 4 numbers: minx,miny,maxx,maxy")
    bbox = _east_north(values, crs)
    if crs.is_geographic:
        # Past the poles is nowhere: clip, as a job's area is, rather than fail to reproject.
        bbox = (bbox[0], max(bbox[1], -90.0), bbox[2], min(bbox[3], 90.0))
    if not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise InvalidRequest(f"bbox {params['bbox']!r} must have min < max on both axes")
    return bbox


def _subset(
    params: Mapping[str, str], bbox: tuple | None, crs: CRS
) -> tuple[tuple | None, str | None]:
    """Fold ``subset=Lat(a:b),Lon(c:d),time("…")`` into bbox and datetime."""
    text = params.get("subset")
    if not text:
        return bbox, None
    x = y = None
    when = None
    for part in re.split(r",(?![^(]*\))", text):
        match = _AXIS.match(part)
        if not match:
            raise InvalidRequest(f"subset {part!r} must look like axis(low:high)")
        axis, interval = match.group(1).lower(), match.group(2)
        if axis in _T_AXES:
            when = _time_interval(interval)
            continue
        interval = interval.replace('"', "")
        bounds = _floats(interval.replace(":", ","), f"subset {axis}")
        if len(bounds) != 2 or bounds[0] >= bounds[1]:
            raise InvalidRequest(f"subset {part!r} must be axis(low:high) with low < high")
        if axis in _X_AXES:
            x = bounds
        elif axis in _Y_AXES:
            y = bounds
        else:
            raise InvalidRequest(f"subset axis {axis!r} is not one of x/Lon, y/Lat, time")
    if x is None and y is None:
        return bbox, when
    if bbox is not None or x is None or y is None:
        raise InvalidRequest(
            "subset needs both a horizontal and a vertical axis, and no bbox beside it"
        )
    return (x[0], y[0], x[1], y[1]), when


def _time_interval(text: str) -> str:
    """``"a":"b"`` (quoted, the colon separates), ``a:b`` (dates only) or one instant → ``a/b``."""
    quoted = re.fullmatch(r'\s*"([^"]*)"\s*:\s*"([^"]*)"\s*', text)
    if quoted:
        return f"{quoted.group(1)}/{quoted.group(2)}"
    plain = text.replace('"', "").strip()
    if plain.count(":") == 1 and "T" not in plain:
        return plain.replace(":", "/")
    return plain


def _scale_size(params: Mapping[str, str]) -> tuple[int, int] | None:
    # ``scaleSize`` is the spelling of the Coverages draft that GDAL's OGCAPI driver speaks.
    text = params.get("scale-size") or params.get("scaleSize")
    if not text:
        return None
    sizes: dict[str, int] = {}
    for part in re.split(r",(?![^(]*\))", text):
        match = _AXIS.match(part)
        if not match or not match.group(2).strip().isdigit() or int(match.group(2)) <= 0:
            raise InvalidRequest(f"scale-size {part!r} must look like x(256) with a positive size")
        axis = match.group(1).lower()
        key = "x" if axis in _X_AXES else "y" if axis in _Y_AXES else None
        if key is None:
            raise InvalidRequest(f"scale-size axis {axis!r} is not one of x/Lon, y/Lat")
        sizes[key] = int(match.group(2))
    if set(sizes) != {"x", "y"}:
        raise InvalidRequest("scale-size needs a size for both axes, e.g. x(512),y(512)")
    return sizes["x"], sizes["y"]


def parse_coverage_query(
    params: Mapping[str, str], *, default_format: str = "json"
) -> CoverageQuery:
    crs = norm_request_crs(params.get("bbox-crs"))
    bbox, subset_time = _subset(params, _bbox(params, crs), crs)
    factor = None
    if params.get("scale-factor"):
        factors = _floats(params["scale-factor"], "scale-factor")
        if len(factors) != 1:
            raise InvalidRequest(f"scale-factor {params['scale-factor']!r} must be one number")
        factor = factors[0]
        if factor <= 0:
            raise InvalidRequest(f"scale-factor {factor} must be positive")
    fmt = (params.get("f") or default_format).lower()
    if fmt not in FORMATS:
        raise InvalidRequest(f"f={fmt!r} is not offered; use json (CoverageJSON), GTiff or NetCDF")
    properties = (
        tuple(p for p in params["properties"].split(",") if p) if params.get("properties") else None
    )
    return CoverageQuery(
        bbox=bbox, bbox_crs=crs, datetime=params.get("datetime") or subset_time, properties=properties,
        scale_size=_scale_size(params), scale_factor=factor, format=FORMATS[fmt],
    )  # fmt: skip


def plan_coverage(
    query: CoverageQuery, product: ProductSummary, *, max_pixels: int, bands: int, times: int
) -> CoveragePlan:
    """The native-CRS box and pixel size to read; LimitExceeded if it is more than ``max_pixels``."""
    if product.grid is None or product.native_bbox is None:
        raise InvalidRequest(f"collection {product.name!r} holds no data yet")
    native = CRS.from_user_input(str(product.grid.crs))
    bbox = product.native_bbox
    if query.bbox is not None:
        transformer = Transformer.from_crs(query.bbox_crs, native, always_xy=True)
        minx, miny, maxx, maxy = transformer.transform_bounds(*query.bbox, densify_pts=21)
        bbox = (max(minx, bbox[0]), max(miny, bbox[1]), min(maxx, bbox[2]), min(maxy, bbox[3]))
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise InvalidRequest(
                f"bbox {query.bbox} does not intersect collection {product.name!r}"
            )
    res_x, res_y = product.grid.res_x, product.grid.res_y
    if query.scale_size is not None:
        res_x, res_y = (
            (bbox[2] - bbox[0]) / query.scale_size[0],
            (bbox[3] - bbox[1]) / query.scale_size[1],
        )
    elif query.scale_factor is not None:
        res_x, res_y = res_x * query.scale_factor, res_y * query.scale_factor
    width = max(1, round((bbox[2] - bbox[0]) / res_x))
    height = max(1, round((bbox[3] - bbox[1]) / res_y))
    pixels = width * height * bands * times
    if pixels > max_pixels:
        raise LimitExceeded(
            f"the request covers {width}×{height} pixels × {bands} band(s) × {times} time(s) = {pixels:,} values, "
            f"more than this server's limit of {max_pixels:,}; use a smaller bbox, scale-size or scale-factor"
        )
    return CoveragePlan(bbox=bbox, resolution=(res_x, res_y), width=width, height=height)
