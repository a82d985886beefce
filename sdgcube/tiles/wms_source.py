"""``/collections/{id}/wms``: a WMS GetMap request answered by the tiler's bbox route.

MapProxy forwards ``TIME`` only to WMS sources, so this is how its layers get a time dimension.
The request is translated, not proxied: the path becomes TiTiler's
``/collections/{id}/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{format}`` with the bbox in
the request CRS, and ``TIME`` becomes ``datetime``. Only GetMap with a projected or lon/lat-ordered
CRS is offered, which is all MapProxy sends.
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl, urlencode

from pyproj.exceptions import CRSError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sdgcube.datacube.query import northing_first

__all__ = ["WmsGetMapShim", "getmap_to_bbox_route"]

_WMS_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/wms$")
MAX_SIZE = 4096
_FORMATS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/tiff": "tif"}


def getmap_to_bbox_route(
    collection: str, params: dict[str, str]
) -> tuple[str, list[tuple[str, str]]]:
    """Path and query of the bbox route for a GetMap's parameters (keys upper-cased)."""
    if params.get("REQUEST", "GetMap").lower() != "getmap":
        raise ValueError("only REQUEST=GetMap is offered")
    try:
        minx, miny, maxx, maxy = (float(v) for v in params["BBOX"].split(","))
        width, height = int(params["WIDTH"]), int(params["HEIGHT"])
    except (KeyError, ValueError):
        raise ValueError("GetMap needs BBOX=minx,miny,maxx,maxy, WIDTH and HEIGHT") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx >= maxx or miny >= maxy:
        raise ValueError(f"BBOX {params['BBOX']!r} must be finite with min < max")
    if not (0 < width <= MAX_SIZE and 0 < height <= MAX_SIZE):
        raise ValueError(f"WIDTH and HEIGHT must be 1 to {MAX_SIZE}")
    crs = params.get("CRS") or params.get("SRS") or "EPSG:4326"
    if crs.upper() == "CRS:84":
        crs = "OGC:CRS84"
    try:
        northing = northing_first(crs)
    except CRSError:
        raise ValueError(f"CRS {crs!r} is not known") from None
    if params.get("VERSION") == "1.3.0" and northing:
        # WMS 1.3.0 gives BBOX in the CRS's axis order (lat, lon for EPSG:4326).
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    extension = _FORMATS.get(params.get("FORMAT", "image/png").split(";")[0].lower())
    if extension is None:
        raise ValueError(f"FORMAT {params.get('FORMAT')!r} is not one of {sorted(_FORMATS)}")
    path = (
        f"/collections/{collection}/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{extension}"
    )
    query = [("dst_crs", crs), ("coord_crs", crs)]
    if params.get("TIME"):
        query.append(("datetime", params["TIME"]))
    return path, query


class WmsGetMapShim:
    """Rewrites ``…/wms`` GetMap requests onto the bbox route of the wrapped tiles app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            path = (
                scope["path"][len(root) :]
                if root and scope["path"].startswith(root)
                else scope["path"]
            )
            match = _WMS_PATH.match(path)
            if match:
                params = {
                    k.upper(): v
                    for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                }
                try:
                    new_path, query = getmap_to_bbox_route(match["collection"], params)
                except ValueError as exc:
                    await JSONResponse(
                        {"code": "InvalidParameterValue", "description": str(exc)}, 400
                    )(scope, receive, send)
                    return
                scope = {**scope, "path": root + new_path, "raw_path": (root + new_path).encode(),
                         "query_string": urlencode(query).encode("latin-1")}  # fmt: skip
        await self.app(scope, receive, send)
