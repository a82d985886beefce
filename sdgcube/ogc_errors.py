"""The one table from errors to HTTP status and OGC API exception code, and the one document shape.

Errors themselves know nothing of HTTP (`sdgcube.errors`); the adapters — the Starlette app, the
tiles, the job manager — answer every error through this table, so one error is one status and one
code everywhere. The most specific class in an error's MRO wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rio_tiler import errors as rt

from sdgcube.errors import (
    ClusterUnavailable,
    ConfigError,
    Forbidden,
    IndexUnavailable,
    IngestError,
    InvalidModel,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    LimitExceeded,
    NoData,
    PayloadTooLarge,
    QuotaExceeded,
    SdgcubeError,
    Unauthenticated,
    Unknown,
    UnknownCollection,
    UnknownDataset,
    UnknownJob,
    UnknownKey,
    UnknownProduct,
    UnknownUser,
    UnsupportedMediaType,
)

__all__ = ["ERROR_TABLE", "INTERNAL", "OgcError", "exception_document", "ogc_error"]


@dataclass(frozen=True)
class OgcError:
    status: int
    code: str


_BAD = OgcError(400, "InvalidParameterValue")
_NOT_FOUND = OgcError(404, "NotFound")
INTERNAL = OgcError(500, "NoApplicableCode")

ERROR_TABLE: dict[type[BaseException], OgcError] = {
    SdgcubeError: INTERNAL,
    ConfigError: INTERNAL,
    IndexUnavailable: OgcError(503, "ServiceUnavailable"),
    ClusterUnavailable: OgcError(503, "ServiceUnavailable"),
    Unknown: _NOT_FOUND,
    UnknownProduct: _NOT_FOUND,
    UnknownCollection: _NOT_FOUND,
    UnknownDataset: _NOT_FOUND,
    UnknownUser: _NOT_FOUND,
    UnknownKey: _NOT_FOUND,
    UnknownJob: OgcError(404, "NoSuchJob"),
    NoData: _NOT_FOUND,
    InvalidRequest: _BAD,
    IngestError: _BAD,
    InvalidModel: _BAD,
    LimitExceeded: OgcError(400, "LimitExceeded"),
    JobCancelled: OgcError(409, "JobDismissed"),
    JobFailed: OgcError(500, "ProcessFailed"),
    PayloadTooLarge: OgcError(413, "PayloadTooLarge"),
    UnsupportedMediaType: OgcError(415, "UnsupportedMediaType"),
    Unauthenticated: OgcError(401, "AuthenticationRequired"),
    Forbidden: OgcError(403, "Forbidden"),
    QuotaExceeded: OgcError(429, "QuotaExceeded"),
    # rio-tiler's own errors, met while tiling.
    rt.TileOutsideBounds: _NOT_FOUND,
    rt.PointOutsideBounds: _NOT_FOUND,
    rt.EmptyMosaicError: _NOT_FOUND,
    rt.InvalidExpression: _BAD,
    rt.InvalidBandName: _BAD,
    rt.MissingBands: _BAD,
    rt.InvalidColorFormat: _BAD,
    rt.InvalidColorMapName: _BAD,
    rt.InvalidFormat: _BAD,
    rt.InvalidBufferSize: _BAD,
    rt.InvalidBounds: _BAD,
    rt.MaxArraySizeError: OgcError(400, "LimitExceeded"),
}
"""Exception class → status and OGC exception code."""


def ogc_error(exc: BaseException) -> OgcError:
    """The status and code of an error: its nearest class in the table, else 500."""
    for cls in type(exc).__mro__:
        found = ERROR_TABLE.get(cls)
        if found is not None:
            return found
    return INTERNAL


def exception_document(code: str, description: str) -> dict[str, Any]:
    """An OGC API exception document, in the shape pygeoapi answers its own errors with."""
    return {"code": code, "type": code, "description": description}
