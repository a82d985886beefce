"""The one table mapping sdgcube's errors to HTTP status and OGC exception documents."""

from __future__ import annotations

from starlette.responses import JSONResponse

from sdgcube.errors import (
    IndexUnavailable,
    InvalidRequest,
    LimitExceeded,
    NoData,
    SdgcubeError,
    UnknownJob,
    UnknownProduct,
)

__all__ = ["error_response", "ogc_exception"]

# Most specific first: LimitExceeded is an InvalidRequest.
_STATUS: list[tuple[type[SdgcubeError], int, str]] = [
    (LimitExceeded, 400, "LimitExceeded"),
    (UnknownProduct, 404, "NotFound"),
    (UnknownJob, 404, "NoSuchJob"),
    (InvalidRequest, 400, "InvalidParameterValue"),
    (NoData, 404, "NoDataFound"),
    (IndexUnavailable, 503, "ServiceUnavailable"),
]


def ogc_exception(status: int, code: str, description: str) -> JSONResponse:
    """An OGC API exception document, shaped like pygeoapi's own."""
    return JSONResponse(
        {"code": code, "type": code, "description": description}, status_code=status
    )


def error_response(exc: SdgcubeError) -> JSONResponse:
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return ogc_exception(status, code, str(exc))
    return ogc_exception(500, "NoApplicableCode", str(exc))
