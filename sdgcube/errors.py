"""The error hierarchy of sdgcube.

Errors know nothing of HTTP or of the command line: the adapters map them in one place each
(`sdgcube.cli.errors` for the CLI). Every leaf also subclasses the matching built-in, so callers that
only know Python's own exceptions still catch them.
"""

from __future__ import annotations

__all__ = [
    "SdgcubeError",
    "ConfigError",
    "IndexUnavailable",
    "UnknownProduct",
    "InvalidRequest",
    "IngestError",
    "NoData",
]


class SdgcubeError(Exception):
    """Root of every error sdgcube raises on purpose."""


class ConfigError(SdgcubeError, ValueError):
    """The configuration cannot be used (bad value, unreadable file)."""


class IndexUnavailable(SdgcubeError, RuntimeError):
    """The index database cannot be reached or started."""


class UnknownProduct(SdgcubeError, KeyError):
    """A product name that the index does not hold."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown product {self.name!r}"


class InvalidRequest(SdgcubeError, ValueError):
    """A caller asked for something malformed: a bad bbox, time, CRS or parameter."""


class IngestError(SdgcubeError, ValueError):
    """A file or catalog cannot be brought into the archive; nothing was written."""


class NoData(SdgcubeError, LookupError):
    """The request is well formed but no indexed data matches it."""
