"""The one Starlette application: pygeoapi at /, TiTiler at /tiles, MapProxy at /mapproxy.

``create_app(settings)`` builds everything; nothing is built at import time. A background loop
watches the index: when a product, dataset, result or vector layer is added, the pygeoapi and
MapProxy configurations are regenerated and swapped in, and jobs that lost their Dask task are
marked failed. Thread pools are kept apart on purpose: MapProxy runs in a2wsgi's own pool and
calls the tile renderer, which runs in AnyIO's pool, so MapProxy cache misses can never take every
thread the renderer needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from sdgcube.app.coverage_routes import coverage_description, coverage_response, wants_html
from sdgcube.app.errors import ogc_exception
from sdgcube.app.hosts import MapProxyHost, PygeoapiHost
from sdgcube.app.jobs_routes import dismiss_job, job_output, jobs_list
from sdgcube.app.ogc_config import coverage_provider_def, pygeoapi_config
from sdgcube.app.prefer import PreferMiddleware
from sdgcube.datacube.catalog import index_fingerprint, summarise_products
from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.datacube.vectors import vector_store
from sdgcube.errors import UnknownProduct
from sdgcube.processes.executor import fail_orphans
from sdgcube.processes.jobs import job_store
from sdgcube.settings import Settings
from sdgcube.tiles.app import create_tiles_app
from sdgcube.tiles.mapproxy_config import mapproxy_config
from sdgcube.tiles.wms_source import WmsGetMapShim

__all__ = ["ServerState", "create_app"]

_LOG = logging.getLogger(__name__)
ORPHAN_SWEEP_S = 30.0
RENDER_THREADS = 64
PYGEOAPI_THREADS = 32


@dataclass
class ServerState:
    """What one server process publishes, and the fingerprint of the index it was built from."""

    settings: Settings
    cube: Cube
    pygeoapi: PygeoapiHost
    mapproxy: MapProxyHost
    fingerprint: str = ""
    coverage_providers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _fingerprint(self) -> str:
        layers = [
            (layer.name, layer.updated.isoformat())
            for layer in vector_store(self.settings).list_layers()
        ]
        return f"{index_fingerprint(self.cube)}|{layers}"

    async def coverage_provider(self, name: str) -> dict[str, Any] | None:
        """The coverage provider of a collection; a product registered since the last refresh (a job
        result) is served at once rather than after the next configuration swap."""
        provider = self.coverage_providers.get(name)
        if provider is not None:
            return provider
        try:
            await run_in_threadpool(self.cube.product, name)
        except UnknownProduct:
            return None
        return coverage_provider_def(self.settings, name)

    def refresh(self, *, force: bool = False) -> bool:
        """Regenerate the OGC configurations if the index changed; True if it did."""
        fingerprint = self._fingerprint()
        if fingerprint == self.fingerprint and not force:
            return False
        products = [p for p in summarise_products(self.cube) if p.dataset_count > 0]
        layers = vector_store(self.settings).list_layers()
        config = pygeoapi_config(self.settings, products, layers)
        self.pygeoapi.load(config)
        host = (
            self.settings.host if self.settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        )
        internal = f"http://{host if ':' not in host else f'[{host}]'}:{self.settings.port}"
        self.mapproxy.load(mapproxy_config(self.settings, products, internal_url=internal))
        self.coverage_providers = {
            name: next(p for p in resource["providers"] if p["type"] == "coverage")
            for name, resource in config["resources"].items()
            if any(p["type"] == "coverage" for p in resource.get("providers", []))
        }
        self.fingerprint = fingerprint
        _LOG.info("published %d collections", len(config["resources"]))
        return True


async def _watch(state: ServerState) -> None:
    last_sweep = 0.0
    while True:
        await asyncio.sleep(state.settings.watch_interval_s)
        try:
            await run_in_threadpool(state.refresh)
            if time.monotonic() - last_sweep > ORPHAN_SWEEP_S:
                last_sweep = time.monotonic()
                await run_in_threadpool(fail_orphans, state.settings)
        except Exception:  # noqa: BLE001 - the watcher must outlive a failed refresh and retry
            _LOG.exception("refreshing the published collections failed; retrying")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    folder = settings.data_dir / "server"
    state = ServerState(
        settings=settings,
        cube=open_cube(settings),
        pygeoapi=PygeoapiHost(folder),
        mapproxy=MapProxyHost(folder),
    )
    state.refresh(force=True)
    store = job_store(settings)

    async def coverage(request: Request) -> Response:
        return await coverage_response(
            request, await state.coverage_provider(request.path_params["collection_id"])
        )

    async def domainset(request: Request) -> Response:
        return await coverage_description(
            request,
            await state.coverage_provider(request.path_params["collection_id"]),
            "domainset",
        )

    async def rangetype(request: Request) -> Response:
        return await coverage_description(
            request,
            await state.coverage_provider(request.path_params["collection_id"]),
            "rangetype",
        )

    async def jobs(request: Request) -> Response:
        return await jobs_list(request, store, settings.base_url)

    async def output(request: Request) -> Response:
        return await job_output(
            request.path_params["job_id"], request.path_params["name"], settings.data_dir
        )

    async def dismiss(request: Request) -> Response:
        return await dismiss_job(
            request.path_params["job_id"], state.pygeoapi.api.manager, store, settings.base_url
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = RENDER_THREADS
        # pygeoapi runs every request in the loop's default executor (6 threads on 2 cores); a few
        # synchronous job executions waiting on Dask would otherwise block every pygeoapi page.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(PYGEOAPI_THREADS, "pygeoapi")
        )
        await run_in_threadpool(fail_orphans, settings)
        watcher = asyncio.create_task(_watch(state))
        try:
            yield
        finally:
            watcher.cancel()

    app = Starlette(
        routes=[
            Route(
                "/collections/{collection_id}/coverage", HtmlToPygeoapi(coverage, state.pygeoapi)
            ),
            Route("/collections/{collection_id}/coverage/domainset", domainset),
            Route("/collections/{collection_id}/coverage/rangetype", rangetype),
            Route("/jobs", HtmlToPygeoapi(jobs, state.pygeoapi)),
            Route("/jobs/{job_id}", dismiss, methods=["DELETE"]),
            Route("/jobs/{job_id}/outputs/{name}", output),
            Route("/stac/{path:path}", StacPathGuard(state.pygeoapi)),
            Mount("/tiles", WmsGetMapShim(create_tiles_app(settings, cube=state.cube))),
            Mount("/mapproxy", state.mapproxy),
            Mount("/", state.pygeoapi),
        ],
        middleware=[Middleware(PreferMiddleware)],
        lifespan=lifespan,
    )
    app.state.sdgcube = state
    return app


class StacPathGuard:
    """pygeoapi's STAC browser answers 500 for paths that climb out of the archive: make them 404."""

    def __init__(self, pygeoapi: PygeoapiHost) -> None:
        self.pygeoapi = pygeoapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ".." in unquote(scope["path"]).split("/"):
            await ogc_exception(404, "NotFound", "no such catalog entry")(scope, receive, send)
            return
        await self.pygeoapi(scope, receive, send)


class HtmlToPygeoapi:
    """An endpoint that answers machine formats itself and leaves the HTML pages to pygeoapi."""

    def __init__(
        self, handler: Callable[[Request], Awaitable[Response]], pygeoapi: PygeoapiHost
    ) -> None:
        self.handler = handler
        self.pygeoapi = pygeoapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if wants_html(request):
            await self.pygeoapi(scope, receive, send)
            return
        response = await self.handler(request)
        await response(scope, receive, send)
