"""sdgcube's errors as Starlette responses, through the one table in `sdgcube.ogc_errors`."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdgcube.errors import QuotaExceeded, Unauthenticated
from sdgcube.ogc_errors import exception_document, ogc_error

_HTTP_CODES = {404: "NotFound", 405: "OperationNotSupported"}

__all__ = ["error_response", "http_exception", "ogc_exception"]


def ogc_exception(status: int, code: str, description: str) -> JSONResponse:
    """An OGC API exception document with its status."""
    return JSONResponse(exception_document(code, description), status_code=status)


def error_response(exc: Exception) -> JSONResponse:
    """The error's status and exception document, with the headers its status promises."""
    found = ogc_error(exc)
    if isinstance(exc, QuotaExceeded):
        document = {**exception_document(found.code, str(exc)), "limit": exc.limit}
        response = JSONResponse(document, status_code=found.status)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    response = ogc_exception(found.status, found.code, str(exc))
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="sdgcube"'
    return response


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (with its ``Allow`` header) as OGC exception documents."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "InvalidParameterValue")
    response = ogc_exception(exc.status_code, code, exc.detail)
    response.headers.update(exc.headers or {})
    return response
