"""``/collections/{id}/coverage``: OGC API Coverages served from the cube.

The response format follows ``f`` (json = CoverageJSON, GTiff, NetCDF) or else the Accept header,
as GDAL's OGCAPI driver sends it. HTML is left to pygeoapi's coverage page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdgcube.app.coverage_query import parse_coverage_query
from sdgcube.app.errors import error_response, ogc_exception
from sdgcube.app.providers.coverage import CubeCoverageProvider
from sdgcube.errors import SdgcubeError

__all__ = ["checked_query", "coverage_description", "coverage_response", "wants_html"]

Endpoint = Callable[[Request], Awaitable[Response]]
_ACCEPT = (("tiff", "tif"), ("netcdf", "nc"), ("json", "json"))


def _default_format(accept: str) -> str:
    for token, fmt in _ACCEPT:
        if token in accept.lower():
            return fmt
    return "json"


def wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    return f == "html" or (f is None and "text/html" in request.headers.get("accept", ""))


def checked_query(html: Endpoint) -> Endpoint:
    """pygeoapi's coverage page parses bbox and friends itself and answers 500 for malformed ones:
    the page is asked for only once our parser accepts the query."""

    async def page(request: Request) -> Response:
        try:
            parse_coverage_query(request.query_params)
        except SdgcubeError as exc:
            return error_response(exc)
        return await html(request)

    return page


async def coverage_response(request: Request, provider_def: dict[str, Any] | None) -> Response:
    name = request.path_params["collection_id"]
    if provider_def is None:
        return ogc_exception(
            404, "NotFound", f"collection {name!r} does not exist or is not a coverage"
        )
    try:
        query = parse_coverage_query(
            request.query_params, default_format=_default_format(request.headers.get("accept", ""))
        )
        provider = await run_in_threadpool(CubeCoverageProvider, provider_def)
        mimetype, body = await run_in_threadpool(provider.read, query)
    except SdgcubeError as exc:
        return error_response(exc)
    if isinstance(body, dict):
        return JSONResponse(body, media_type=mimetype)
    suffix = {"tif": "tif", "nc": "nc"}[query.format]
    return Response(
        body,
        media_type=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


async def coverage_description(
    request: Request, provider_def: dict[str, Any] | None, part: str
) -> Response:
    """``…/coverage/domainset`` or ``…/coverage/rangetype`` of a collection."""
    name = request.path_params["collection_id"]
    if provider_def is None:
        return ogc_exception(
            404, "NotFound", f"collection {name!r} does not exist or is not a coverage"
        )
    try:
        provider = await run_in_threadpool(CubeCoverageProvider, provider_def)
        return JSONResponse(provider.domainset() if part == "domainset" else provider.rangetype())
    except SdgcubeError as exc:
        return error_response(exc)
