"""Client input checked once, before any endpoint: ids, paging numbers and request bodies.

Without it a NUL byte in an id or a 31-digit offset reaches PostgreSQL, a 10,000-deep JSON body
overflows the parser's recursion, an execute request whose ``subscriber`` is not an object reaches
pygeoapi's unchecked indexing, and a cross-site ``text/plain`` form POST starts a job — each
answering 500 (or worse, succeeding). Bodies are read here (capped at ``max_body_bytes``) and
replayed to the endpoint unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdgcube.app.errors import error_response
from sdgcube.errors import (
    InvalidRequest,
    PayloadTooLarge,
    SdgcubeError,
    UnknownCollection,
    UnknownJob,
    UnsupportedMediaType,
)
from sdgcube.settings import Settings

__all__ = ["RequestGuard", "check_body", "check_target"]

MAX_ID_CHARS = 255
MAX_PAGING = 2**63 - 1
"""PostgreSQL's bigint: larger offsets and limits overflow the query."""
_EXECUTION = re.compile(r"^/processes/[^/]+/execution$")
_ITEMS = re.compile(r"^/collections/[^/]+/items$")
_JOB = re.compile(r"^/jobs/([^/]+)")


def check_target(path: str, query: str) -> None:
    """Ids no index can hold are unknown; paging numbers must fit PostgreSQL's bigint."""
    if "\x00" in path:
        job = _JOB.match(path)
        raise UnknownJob(job.group(1)) if job else UnknownCollection(path)
    job = _JOB.match(path)
    if job and len(job.group(1)) > MAX_ID_CHARS:
        raise UnknownJob(job.group(1)[:40] + "…")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in ("offset", "limit") and value.strip().isdigit() and int(value) > MAX_PAGING:
            raise InvalidRequest(f"{name}={value} is larger than {MAX_PAGING}")


def _depth(value: Any) -> int:
    """Nesting depth without recursion (the document may be deep by design)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_body(path: str, content_type: str, body: bytes, max_depth: int) -> None:
    """Executions take a JSON object only; any JSON body must be UTF-8 and not too deep."""
    media = content_type.split(";")[0].strip().lower()
    is_json = media == "application/json" or media.endswith("+json")
    if _EXECUTION.match(path) and not is_json:
        raise UnsupportedMediaType(f"an execution request must be application/json, not {media!r}")
    if _ITEMS.match(path) and not media:
        raise UnsupportedMediaType("a new feature needs a Content-Type (application/geo+json)")
    if not is_json:
        return
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"the request body is not UTF-8: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRequest(f"the request body nests deeper than {max_depth}") from exc
    except ValueError as exc:
        raise InvalidRequest(f"the request body is not JSON: {exc}") from exc
    if _depth(document) > max_depth:
        raise InvalidRequest(f"the request body nests deeper than {max_depth}")
    if _EXECUTION.match(path):
        _check_execute(document)


def _check_execute(document: Any) -> None:
    """The members of an execute request pygeoapi reads into without looking (``subscriber``
    is indexed by ``successUri``: a string or a list there answered 500)."""
    if not isinstance(document, dict):
        raise InvalidRequest("an execution request must be a JSON object")
    subscriber = document.get("subscriber")
    if subscriber is not None and not isinstance(subscriber, dict):
        raise InvalidRequest(f"subscriber must be a JSON object, not {type(subscriber).__name__}")


class RequestGuard:
    """ASGI middleware applying `check_target` to every request and `check_body` to writes."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.max_depth = settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_target(scope["path"], scope.get("query_string", b"").decode("latin-1"))
            if scope["method"] in ("POST", "PUT", "PATCH"):
                body = await self._read(scope, receive)
                headers = {k.lower(): v for k, v in scope["headers"]}
                check_body(scope["path"], headers.get(b"content-type", b"").decode("latin-1"),
                           body, self.max_depth)  # fmt: skip
                receive = _replay(body, receive)
        except SdgcubeError as exc:  # only the checks above raise in this block
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise PayloadTooLarge(f"the request body is over {self.max_bytes} bytes")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise PayloadTooLarge(f"the request body is over {self.max_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False) and message["type"] == "http.request"
        return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """The body once, then the client's own messages (a disconnect must still be seen)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
