"""The error hierarchy of sdgcube.

Errors know nothing of HTTP or of the command line: the adapters map them in one place each
(`sdgcube.cli.errors` for the CLI). Every leaf also subclasses the matching built-in, so callers that
only know Python's own exceptions still catch them.
"""

from __future__ import annotations

__all__ = [
    "ClusterUnavailable",
    "ConfigError",
    "Forbidden",
    "IndexUnavailable",
    "IngestError",
    "InvalidModel",
    "InvalidRequest",
    "JobCancelled",
    "LimitExceeded",
    "NoData",
    "PayloadTooLarge",
    "QuotaExceeded",
    "SdgcubeError",
    "Unauthenticated",
    "Unknown",
    "UnknownCollection",
    "UnknownDataset",
    "UnknownJob",
    "UnknownKey",
    "UnknownProduct",
    "UnknownUser",
    "UnsupportedMediaType",
]


class SdgcubeError(Exception):
    """Root of every error sdgcube raises on purpose."""


class ConfigError(SdgcubeError, ValueError):
    """The configuration cannot be used (bad value, unreadable file)."""


class IndexUnavailable(SdgcubeError, RuntimeError):
    """The index database cannot be reached or started."""


class ClusterUnavailable(SdgcubeError, RuntimeError):
    """The Dask scheduler that runs jobs cannot be reached."""


class Unknown(SdgcubeError, KeyError):
    """A name or id that no store of sdgcube holds; subclasses say what kind of thing."""

    kind = "thing"

    def __init__(self, identifier: str) -> None:
        super().__init__(identifier)
        self.identifier = identifier

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.identifier!r}"


class UnknownProduct(Unknown):
    """A product name that the index does not hold."""

    kind = "product"


class UnknownCollection(Unknown):
    """A vector layer (feature collection) name that the index does not hold."""

    kind = "collection"


class UnknownDataset(Unknown):
    """A dataset id that the index does not hold."""

    kind = "dataset"


class UnknownJob(Unknown):
    """A job identifier that the job table does not hold."""

    kind = "job"


class UnknownUser(Unknown):
    """A user name that the account table does not hold."""

    kind = "user"


class UnknownKey(Unknown):
    """An API key id that the key table does not hold."""

    kind = "API key"


class InvalidRequest(SdgcubeError, ValueError):
    """A caller asked for something malformed: a bad bbox, time, CRS or parameter."""


class IngestError(SdgcubeError, ValueError):
    """A file or catalog cannot be brought into the archive; nothing was written."""


class NoData(SdgcubeError, LookupError):
    """The request is well formed but no indexed data matches it."""


class LimitExceeded(InvalidRequest):
    """The request is valid but larger than this server's configured limits allow."""


class InvalidModel(InvalidRequest):
    """A segmentation model that is unknown, unreadable, or does not fit its card or the data."""


class JobCancelled(SdgcubeError):
    """The job was dismissed while it ran; raised inside the job to stop its work."""


class JobFailed(SdgcubeError, RuntimeError):
    """A job whose inputs were accepted failed while it ran: the server's fault, not the request's."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(f"job {job_id} failed: {message}")
        self.job_id = job_id


class PayloadTooLarge(InvalidRequest):
    """A request body larger than ``max_body_bytes``."""


class UnsupportedMediaType(InvalidRequest):
    """A request body in a media type the endpoint does not accept."""


class Unauthenticated(SdgcubeError, PermissionError):
    """No credentials where they are needed, or credentials that identify nobody (expired, revoked,
    wrongly signed)."""


class Forbidden(SdgcubeError, PermissionError):
    """The caller is known, and the policy does not let their role do this."""


class QuotaExceeded(SdgcubeError):
    """One of the caller's quotas or rate limits is used up; it names the limit and when to retry."""

    def __init__(self, limit: str, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after_s = max(1, retry_after_s)
