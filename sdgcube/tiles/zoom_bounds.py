"""Zoom levels asked of the tiles app stay within the tile matrix set.

TiTiler's tileset, TileJSON and WMTS documents list every level from ``minzoom`` to ``maxzoom``
with no upper bound: ``maxzoom=1000`` cost 18 s of CPU (quadratic in the level) and slowed every
other tile request. A level the tiling scheme does not have is refused before any route runs.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import morecantile
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sdgcube.ogc_errors import exception_document

__all__ = ["ZoomBoundsMiddleware", "zoom_problem"]

_ZOOM_PARAMETERS = ("minzoom", "maxzoom")


def zoom_problem(path: str, query: list[tuple[str, str]]) -> str | None:
    """Why the zoom parameters of a request are out of bounds, or None when they are not."""
    asked = [(key, value) for key, value in query if key in _ZOOM_PARAMETERS]
    if not asked:
        return None
    known = set(morecantile.tms.list())
    named = [segment for segment in path.split("/") if segment in known]
    schemes = [morecantile.tms.get(named[-1])] if named else [morecantile.tms.get(k) for k in known]
    low, high = min(s.minzoom for s in schemes), max(s.maxzoom for s in schemes)
    where = named[-1] if named else "any supported tile matrix set"
    for key, value in asked:
        try:
            level = int(value)
        except ValueError:
            return f"{key}={value!r} is not an integer zoom level"
        if not low <= level <= high:
            return f"{key}={level} is outside the zoom levels of {where} ({low}–{high})"
    return None


class ZoomBoundsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            problem = zoom_problem(scope["path"], query)
            if problem is not None:
                body = exception_document("InvalidParameterValue", problem)
                await JSONResponse(body, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
