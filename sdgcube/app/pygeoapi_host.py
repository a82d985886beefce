"""pygeoapi hosted explicitly: its API core built from our configuration, behind our own routes.

pygeoapi's Starlette module builds its app at import time from environment variables and keeps
the API in module globals; sdgcube never imports it. Instead one `PygeoapiHost` per server holds
an ``API`` built from the in-memory configuration (which carries the server's `Services` to the
providers, the manager and the processors) and exposes only the routes sdgcube does not answer
itself. Collections are swapped one at a time (copy on write, so a request never sees a
half-changed table); the OpenAPI document is regenerated on the first request after a change,
and made self-contained then (`openapi_bundle`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["PAGE_ASSETS", "PygeoapiHost", "page_assets"]

PAGE_ASSETS = Path(__file__).parent.parent / "web" / "dist" / "pages"
"""Bootstrap, Leaflet, Swagger UI and sdgcube's stylesheet for pygeoapi's pages, copied there from
npm by ``web/pages/`` (``make install``); served at ``/static/pages``."""

Endpoint = Callable[[Request], Awaitable[Response]]


def _response(headers: dict[str, str], status: int, content: Any) -> Response:
    if headers.get("Content-Type") == "text/html":
        response: Response = HTMLResponse(content, status_code=status)
    elif isinstance(content, dict):
        response = JSONResponse(content, status_code=status)
    else:
        response = Response(content, status_code=status)
    response.headers.update(headers)
    return response


class PygeoapiHost:
    """One pygeoapi ``API`` object for the life of the server, and the routes that reach it."""

    def __init__(
        self, config: dict[str, Any], extend_openapi: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        from pygeoapi import l10n
        from pygeoapi.api import API

        self.api = API(config, {})
        # pygeoapi's pages read a translated copy of the configuration cached per locale for the life
        # of the process: a second host (another configuration) would show the first one's metadata.
        l10n._cfg_cache.clear()
        self._extend_openapi = extend_openapi
        # Only the server URL differs between the two configurations; share one resource table.
        self.api.tpl_config["resources"] = self.api.config["resources"]
        self._lock = threading.Lock()
        self._openapi_stale = True

    @property
    def resources(self) -> Mapping[str, dict[str, Any]]:
        return self.api.config["resources"]  # type: ignore[no-any-return]

    def replace(self, updated: Mapping[str, dict[str, Any]], removed: Iterable[str] = ()) -> None:
        """Add or replace the resources in ``updated`` and drop those in ``removed``."""
        from pygeoapi import l10n

        with self._lock:
            resources = {k: v for k, v in self.resources.items() if k not in set(removed)}
            resources.update(updated)
            self.api.config["resources"] = self.api.tpl_config["resources"] = resources
            self._openapi_stale = True
            # pygeoapi keeps the translated copy of the configuration its HTML templates read,
            # one per locale, for the life of the process: a collection added after the first
            # page was missing from it, and its HTML page answered 500.
            l10n._cfg_cache.clear()

    def _openapi(self) -> None:
        from pygeoapi.openapi import get_oas

        from sdgcube.app.openapi_bundle import bundle

        with self._lock:
            if self._openapi_stale:
                document = get_oas(self.api.config, fail_on_invalid_collection=False)
                self.api.openapi = self._extend_openapi(bundle(document))
                self._openapi_stale = False

    async def call(
        self, request: Request, function: Callable[..., Any], *args: Any, validate: bool = True
    ) -> Response:
        """Run one pygeoapi API function for a request (in a worker thread, as pygeoapi expects)."""
        from pygeoapi.api import APIRequest

        api_request = await APIRequest.from_starlette(request, self.api.locales)
        if validate and not api_request.is_valid():
            return _response(*self.api.get_format_exception(api_request))
        loop = asyncio.get_running_loop()

        def run() -> tuple[dict[str, str], int, Any]:
            asyncio.set_event_loop(loop)  # pygeoapi's processes API schedules on the loop
            return function(self.api, api_request, *args)  # type: ignore[no-any-return]

        # The request's context (its caller, for the job manager) goes with it to the thread.
        context = contextvars.copy_context()
        return _response(*await loop.run_in_executor(None, context.run, run))

    async def page(self, request: Request, template: str, data: dict[str, Any]) -> Response:
        """One of pygeoapi's page templates (ours where we restyle it) filled with ``data``, in the
        request's locale, as pygeoapi renders its own pages."""
        from pygeoapi.api import APIRequest
        from pygeoapi.util import render_j2_template

        api_request = await APIRequest.from_starlette(request, self.api.locales)
        templates = self.api.config["server"]["templates"]
        html = await asyncio.get_running_loop().run_in_executor(
            None, render_j2_template, self.api.tpl_config, templates, template, data,
            api_request.locale,
        )  # fmt: skip
        return HTMLResponse(html)

    def endpoint(
        self, function: Callable[..., Any], *names: str, validate: bool = True
    ) -> Endpoint:
        """A Starlette endpoint calling ``function(api, request, *path parameters named)``."""

        async def call(request: Request) -> Response:
            args = [request.path_params.get(name) for name in names]
            return await self.call(request, function, *args, validate=validate)

        return call

    async def openapi(self, request: Request) -> Response:
        import pygeoapi.api as core

        await asyncio.get_running_loop().run_in_executor(None, self._openapi)
        return await self.call(request, core.openapi_)

    def routes(
        self, collection: Callable[[Endpoint], Endpoint], listing: Callable[[Endpoint], Endpoint]
    ) -> list[BaseRoute]:
        """pygeoapi's routes that sdgcube leaves to it; ``collection`` wraps the endpoints that
        name a collection (to publish one the index has but this server has not seen yet),
        ``listing`` the collection list (to leave out what the caller may not read)."""
        import pygeoapi

        return [
            Mount("/static/pages", page_assets()),
            Mount("/static", StaticFiles(directory=Path(pygeoapi.__file__).parent / "static")),
            *_core_routes(self, collection, listing),
        ]


def page_assets(folder: Path = PAGE_ASSETS) -> Callable[..., Awaitable[None]]:
    # Before the front-end is built the pages still render, unstyled: their assets are 404s, never
    # the 500 StaticFiles answers for a folder that does not exist.
    if folder.is_dir():
        return StaticFiles(directory=folder)

    async def missing(scope: Any, receive: Any, send: Any) -> None:
        await Response("page assets not built (make install)", 404)(scope, receive, send)

    return missing


def _core_routes(
    host: PygeoapiHost,
    collection: Callable[[Endpoint], Endpoint],
    listing: Callable[[Endpoint], Endpoint],
) -> list[Route]:
    import pygeoapi.api as core
    import pygeoapi.api.environmental_data_retrieval as edr
    import pygeoapi.api.itemtypes as items
    import pygeoapi.api.processes as processes
    import pygeoapi.api.stac as stac

    plain = host.endpoint

    async def edr_query(request: Request) -> Response:
        params = request.path_params
        query = (
            request.url.path.rstrip("/").split("/")[-1]
            if "location_id" not in params
            else "locations"
        )
        return await host.call(request, edr.get_collection_edr_query, params["collection_id"], None,
                               query, params.get("location_id"), validate=False)  # fmt: skip

    async def feature_items(request: Request) -> Response:
        name = request.path_params["collection_id"]
        if (
            request.method == "POST"
            and request.headers.get("content-type") == "application/geo+json"
        ):
            return await host.call(
                request, items.manage_collection_item, "create", name, validate=False
            )
        if request.method == "OPTIONS":
            return await host.call(
                request, items.manage_collection_item, "options", name, validate=False
            )
        return await host.call(request, items.get_collection_items, name, validate=False)

    async def feature_item(request: Request) -> Response:
        name, fid = request.path_params["collection_id"], request.path_params["item_id"]
        actions = {"DELETE": "delete", "PUT": "update", "OPTIONS": "options"}
        if request.method in actions:
            return await host.call(request, items.manage_collection_item, actions[request.method], name,
                                   fid, validate=False)  # fmt: skip
        return await host.call(request, items.get_collection_item, name, fid)

    coll = "/collections/{collection_id}"
    edr_paths = ("position", "area", "cube", "radius", "trajectory", "corridor", "locations")
    return [
        Route("/", plain(core.landing_page)),
        Route("/openapi", host.openapi),
        Route("/conformance", plain(core.conformance)),
        Route("/collections", listing(plain(core.describe_collections))),
        Route(coll, collection(plain(core.describe_collections, "collection_id"))),
        Route(f"{coll}/schema", collection(plain(core.get_collection_schema, "collection_id"))),
        Route(f"{coll}/queryables", collection(plain(items.get_collection_queryables, "collection_id"))),
        Route(f"{coll}/items", collection(feature_items), methods=["GET", "POST", "OPTIONS"]),
        Route(f"{coll}/items/{{item_id}}", collection(feature_item), methods=["GET", "PUT", "DELETE", "OPTIONS"]),
        *(Route(f"{coll}/{path}", collection(edr_query)) for path in edr_paths),
        Route(f"{coll}/locations/{{location_id}}", collection(edr_query)),
        Route("/processes", plain(processes.describe_processes)),
        Route("/processes/{process_id}", plain(processes.describe_processes, "process_id")),
        Route("/processes/{process_id}/execution", plain(processes.execute_process, "process_id"), methods=["POST"]),
        Route("/jobs/{job_id}", plain(processes.get_jobs, "job_id")),
        Route("/jobs/{job_id}/results", plain(processes.get_job_result, "job_id")),
        Route("/stac", plain(stac.get_stac_root)),
        Route("/stac/{path:path}", plain(stac.get_stac_path, "path")),
    ]  # fmt: skip
