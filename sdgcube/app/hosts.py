"""Hosting MapProxy inside our app, with its configuration swapped at run time.

MapProxy builds its application from a configuration file; sdgcube regenerates the file when the
products change and swaps the live object, so a new product or job result becomes a map layer
without a restart. The file is written atomically because several workers of one server may write
the same content at the same time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from a2wsgi import WSGIMiddleware
from starlette.types import Receive, Scope, Send

from sdgcube.datacube.cog import atomic_path
from sdgcube.tiles.mapproxy_errors import client_errors

__all__ = ["MapProxyHost", "mapproxy_app", "write_yaml"]


def mapproxy_app(config_path: Path) -> Any:
    """MapProxy's WSGI app for a configuration file, with its tile locks switched off.

    MapProxy names a tile's lock after the tile's position only, not its ``TIME``: every request for
    a place, whatever the year, would wait for whoever renders that place, holding the lock while
    its render waits its turn in the renderer's queue. Without locks two requests for the very same
    tile at the same moment may both render it (tiles are written atomically); that costs a render,
    where the lock made requests for other years queue one behind the other."""
    from mapproxy.config.loader import load_configuration
    from mapproxy.wsgiapp import MapProxyApp

    conf = load_configuration(mapproxy_conf=str(config_path), ignore_warnings=True)
    services = conf.configured_services()
    for cache in conf.caches.values():
        for _grid, _extent, manager in cache.caches():  # memoized: the managers the services use
            manager.locker.locking_disabled = True
    return MapProxyApp(services, conf.base_config)


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


class MapProxyHost:
    """MapProxy's WSGI app behind a2wsgi, with its own thread pool (not the server's).

    Its threads mostly wait for the renderer, whose admission queue bounds the work, so there are
    enough of them for every client of a busy server: with fewer, a WMS request would queue twice,
    for a thread and then for the renderer, and wait twice as long as a tile request."""

    def __init__(self, folder: Path, *, threads: int = 64) -> None:
        self.config_path = folder / "mapproxy.yaml"
        self._wsgi: Any = None
        self.asgi = WSGIMiddleware(self._dispatch, workers=threads)

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._wsgi is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no map layers yet: the cube holds no data"]
        return self._wsgi(environ, start_response)

    def load(self, config: dict[str, Any]) -> None:
        """Build MapProxy from the configuration; with no layers (an empty cube) there is none."""
        write_yaml(self.config_path, config)
        if not config["layers"]:
            self._wsgi = None
            return
        self._wsgi = client_errors(mapproxy_app(self.config_path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)
