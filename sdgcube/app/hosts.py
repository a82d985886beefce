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

__all__ = ["MapProxyHost", "write_yaml"]


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
        from mapproxy.wsgiapp import make_wsgi_app

        write_yaml(self.config_path, config)
        if not config["layers"]:
            self._wsgi = None
            return
        self._wsgi = client_errors(
            make_wsgi_app(str(self.config_path), ignore_config_warnings=True, reloader=False)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)
