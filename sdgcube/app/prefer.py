"""RFC 7240 ``Prefer`` parsing for OGC API Processes.

pygeoapi compares the whole header with ``respond-async``, so ``respond-async, wait=10`` silently
runs synchronously. This middleware reduces the header to the one token pygeoapi understands.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PreferMiddleware", "wants_async"]


def wants_async(value: str) -> bool:
    """True if any preference in the header is ``respond-async`` (parameters and case ignored)."""
    for preference in value.split(","):
        token = preference.split(";")[0].split("=")[0].strip().lower()
        if token == "respond-async":
            return True
    return False


class PreferMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"prefer"]
            prefer = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"prefer"]
            if prefer:
                mode = b"respond-async" if wants_async(",".join(prefer)) else b"wait"
                scope = {**scope, "headers": [*headers, (b"prefer", mode)]}
        await self.app(scope, receive, send)
