"""sdgcube's errors as Starlette responses, through the one table in `sdgcube.ogc_errors`."""

from __future__ import annotations

from starlette.responses import JSONResponse

from sdgcube.ogc_errors import exception_document, ogc_error

__all__ = ["error_response", "ogc_exception"]


def ogc_exception(status: int, code: str, description: str) -> JSONResponse:
    """An OGC API exception document with its status."""
    return JSONResponse(exception_document(code, description), status_code=status)


def error_response(exc: Exception) -> JSONResponse:
    found = ogc_error(exc)
    return ogc_exception(found.status, found.code, str(exc))
