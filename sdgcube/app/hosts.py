"""Hosting MapProxy inside our app, with its configuration swapped at run time.

MapProxy is built straight from the configuration sdgcube generates from the products (no YAML
file: writing and parsing one took seconds with a thousand layers, and MapProxy's validation of a
document tests/tiles/test_mapproxy_config.py already checks as much again), and the live object is
swapped, so a new product or job result becomes a map layer without a restart. Capabilities
documents, which MapProxy renders anew on every request (seconds with a thousand layers), are
kept per request URL until the next swap.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.types import Receive, Scope, Send

from sdgcube.tiles.mapproxy_errors import client_errors

__all__ = ["CapabilitiesCache", "MapProxyHost", "build_mapproxy", "is_capabilities"]

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
# What MapProxy reads of a request to write a capabilities document (its URLs, its format).
_URL_KEYS = ("PATH_INFO", "QUERY_STRING", "SCRIPT_NAME", "wsgi.url_scheme", "SERVER_NAME",
             "SERVER_PORT", "HTTP_HOST", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
             "HTTP_X_SCRIPT_NAME", "HTTP_ACCEPT")  # fmt: skip
CAPABILITIES_KEPT = 32
"""Most capabilities documents kept (one per distinct request URL and host)."""


def is_capabilities(environ: dict[str, Any]) -> bool:
    """Whether a request asks for a capabilities document (WMS, WMTS KVP or RESTful)."""
    query = environ.get("QUERY_STRING", "").lower()
    path = environ.get("PATH_INFO", "")
    return "request=getcapabilities" in query or path.endswith("Capabilities.xml")


class CapabilitiesCache:
    """A WSGI wrapper answering a repeated capabilities request with the document it gave first;
    one per MapProxy object, so a new configuration starts with none."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._documents: dict[tuple[str, ...], tuple[str, list[tuple[str, str]], bytes]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or not is_capabilities(environ):
            return self.app(environ, start_response)
        key = tuple(str(environ.get(name, "")) for name in _URL_KEYS)
        document = self._documents.get(key)
        if document is None:
            document = self._render(environ)
            if document[0].startswith("200"):
                with self._lock:
                    if len(self._documents) >= CAPABILITIES_KEPT:
                        self._documents.pop(next(iter(self._documents)))
                    self._documents[key] = document
        status, headers, body = document
        start_response(status, headers)
        return [body]

    def _render(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            answer[:] = [status, list(headers)]

        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return answer[0], answer[1], body


@functools.cache
def _load_plugins() -> None:
    """MapProxy's plugins (entry points), looked for once: it reads every installed package."""
    from mapproxy.config.loader import load_plugins

    load_plugins()


def build_mapproxy(config: dict[str, Any], folder: Path) -> WsgiApp:
    """MapProxy's WSGI app for a configuration document (which it takes over and changes), with
    its tile locks switched off.

    MapProxy names a tile's lock after the tile's position only, not its ``TIME``: every request for
    a place, whatever the year, would wait for whoever renders that place, holding the lock while
    its render waits its turn in the renderer's queue. Without locks two requests for the very same
    tile at the same moment may both render it (tiles are written atomically); that costs a render,
    where the lock made requests for other years queue one behind the other."""
    from mapproxy.config.loader import ProxyConfiguration
    from mapproxy.wsgiapp import MapProxyApp

    _load_plugins()
    proxy = ProxyConfiguration(config, conf_base_dir=str(folder))
    services = proxy.configured_services()
    for cache in proxy.caches.values():
        for _grid, _extent, manager in cache.caches():  # memoized: the managers the services use
            manager.locker.locking_disabled = True
    return MapProxyApp(services, proxy.base_config)  # type: ignore[no-any-return]


class MapProxyHost:
    """MapProxy's WSGI app behind a2wsgi, with its own thread pool (not the server's).

    Its threads mostly wait for the renderer, whose admission queue bounds the work, so there are
    enough of them for every client of a busy server: with fewer, a WMS request would queue twice,
    for a thread and then for the renderer, and wait twice as long as a tile request."""

    def __init__(self, folder: Path, *, threads: int = 64) -> None:
        self.folder = folder
        self._wsgi: WsgiApp | None = None
        self.asgi = WSGIMiddleware(self._dispatch, workers=threads)

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        wsgi = self._wsgi
        if wsgi is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no map layers yet: the cube holds no data"]
        return wsgi(environ, start_response)

    def load(self, config: dict[str, Any]) -> None:
        """Build MapProxy from the configuration; with no layers (an empty cube) there is none."""
        if not config["layers"]:
            self._wsgi = None
            return
        self._wsgi = CapabilitiesCache(client_errors(build_mapproxy(config, self.folder)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)
