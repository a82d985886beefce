"""Hosting pygeoapi and MapProxy inside our app, with their configuration swapped at run time.

Both build their application from a configuration file once; sdgcube regenerates the file when
the index changes and swaps the live object, so a new product or job result becomes a collection
and a map layer without a restart. Files are written atomically because several workers of one
server may write the same content at the same time.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

import yaml
from a2wsgi import WSGIMiddleware
from starlette.types import Receive, Scope, Send

from sdgcube.datacube.cog import atomic_path

__all__ = ["MapProxyHost", "PygeoapiHost", "write_yaml"]


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


class PygeoapiHost:
    """pygeoapi's Starlette app, whose ``API`` object is replaced when the configuration changes.

    pygeoapi builds its app at import time from ``PYGEOAPI_CONFIG``/``PYGEOAPI_OPENAPI`` and keeps
    the API in a module global that every route reads, so one host per process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config_path = folder / "pygeoapi.yml"
        self.openapi_path = folder / "openapi.yml"
        self.module: Any = None
        self._lock = threading.Lock()

    def _write(self, config: dict[str, Any]) -> dict[str, Any]:
        from pygeoapi.openapi import get_oas

        write_yaml(self.config_path, config)
        openapi = get_oas(config, fail_on_invalid_collection=False)
        write_yaml(self.openapi_path, openapi)
        return openapi

    def load(self, config: dict[str, Any]) -> None:
        """Write the configuration and (re)build pygeoapi's API from it."""
        with self._lock:
            openapi = self._write(config)
            if self.module is None:
                os.environ["PYGEOAPI_CONFIG"] = str(self.config_path)
                os.environ["PYGEOAPI_OPENAPI"] = str(self.openapi_path)
                self.module = importlib.import_module("pygeoapi.starlette_app")
            from pygeoapi.api import API

            self.module.CONFIG = config
            self.module.api_ = API(config, openapi)

    @property
    def api(self) -> Any:
        return self.module.api_

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.module.APP(scope, receive, send)


class MapProxyHost:
    """MapProxy's WSGI app behind a2wsgi, with its own thread pool (not the server's)."""

    def __init__(self, folder: Path, *, threads: int = 16) -> None:
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
        self._wsgi = make_wsgi_app(
            str(self.config_path), ignore_config_warnings=True, reloader=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)
