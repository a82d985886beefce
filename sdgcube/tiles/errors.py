"""Errors met while tiling, answered through the one table in `sdgcube.ogc_errors`.

Readers raise sdgcube's and rio-tiler's own errors, which know nothing of HTTP; these handlers turn
them into OGC exception documents. Bad input is always a 4xx: a tile outside the data is 404
(MapProxy draws it transparent), a malformed parameter 400.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sdgcube.ogc_errors import ERROR_TABLE, OgcError, exception_document

__all__ = ["add_error_handlers"]

_VALIDATION = OgcError(400, "InvalidParameterValue")


_HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound"}


def _message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _respond(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse(exception_document(code, description), status_code=status)


def _handler(error: OgcError) -> Callable[[Request, Exception], JSONResponse]:
    def handle(request: Request, exc: Exception) -> JSONResponse:
        return _respond(error.status, error.code, _message(exc))

    return handle


def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = _HTTP_CODES.get(status) or HTTPStatus(status).phrase.replace(" ", "")
    return _respond(status, code, str(getattr(exc, "detail", exc)))


def add_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``ERROR_TABLE``, request validation errors and every ``HTTPException``
    as OGC exception documents. Starlette picks the handler of the nearest class in the MRO."""
    for cls, error in ERROR_TABLE.items():
        app.add_exception_handler(cls, _handler(error))
    app.add_exception_handler(RequestValidationError, _handler(_VALIDATION))
    app.add_exception_handler(HTTPException, _handle_http)
