"""The one table that maps errors met while tiling to HTTP status codes and OGC exception codes.

Readers raise sdgcube's and rio-tiler's own errors, which know nothing of HTTP; only this module
turns them into responses, with a JSON body ``{"code": …, "description": …}``. Bad input is always
a 4xx: a tile outside the data is 404 (MapProxy draws it transparent), a malformed parameter 400.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from rio_tiler import errors as rt
from starlette.exceptions import HTTPException

from sdgcube.errors import InvalidRequest, LimitExceeded, NoData, UnknownProduct

__all__ = ["ERROR_TABLE", "add_error_handlers"]


ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    UnknownProduct: (404, "NotFound"),
    NoData: (404, "NotFound"),
    LimitExceeded: (400, "LimitExceeded"),
    InvalidRequest: (400, "InvalidParameterValue"),
    rt.TileOutsideBounds: (404, "NotFound"),
    rt.PointOutsideBounds: (404, "NotFound"),
    rt.EmptyMosaicError: (404, "NotFound"),
    rt.InvalidExpression: (400, "InvalidParameterValue"),
    rt.InvalidBandName: (400, "InvalidParameterValue"),
    rt.MissingBands: (400, "InvalidParameterValue"),
    rt.InvalidColorFormat: (400, "InvalidParameterValue"),
    rt.InvalidColorMapName: (400, "InvalidParameterValue"),
    rt.InvalidFormat: (400, "InvalidParameterValue"),
    rt.InvalidBufferSize: (400, "InvalidParameterValue"),
    rt.InvalidBounds: (400, "InvalidParameterValue"),
    rt.MaxArraySizeError: (400, "LimitExceeded"),
    RequestValidationError: (400, "InvalidParameterValue"),
}
"""Exception class → (HTTP status, OGC API exception code); the most specific class wins."""


_HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound"}


def _message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _respond(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def _handler(status: int, code: str) -> Callable[[Request, Exception], JSONResponse]:
    def handle(request: Request, exc: Exception) -> JSONResponse:
        return _respond(status, code, _message(exc))

    return handle


def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = _HTTP_CODES.get(status) or HTTPStatus(status).phrase.replace(" ", "")
    return _respond(status, code, str(getattr(exc, "detail", exc)))


def add_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``ERROR_TABLE`` and every ``HTTPException`` as OGC-style JSON.

    Starlette picks the handler of the nearest class in the exception's MRO."""
    for cls, (status, code) in ERROR_TABLE.items():
        app.add_exception_handler(cls, _handler(status, code))
    app.add_exception_handler(HTTPException, _handle_http)
