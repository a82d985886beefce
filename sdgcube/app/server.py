"""The one Starlette application: pygeoapi at /, TiTiler at /tiles, MapProxy at /mapproxy.

``create_app(settings)`` builds everything once — the `Services`, pygeoapi's API core, MapProxy,
the tiler — and nothing is built at import time. A background loop publishes what changed in the
index, collection by collection, and marks failed the jobs that lost their Dask task. Thread pools
are kept apart on purpose: MapProxy runs in a2wsgi's own pool and calls the tile renderer, which
runs in AnyIO's pool, so MapProxy cache misses can never take every thread the renderer needs.
Renders are admitted a few at a time in arrival order (`RenderAdmission`), MapProxy's included: under
load every request then waits about as long as every other (``benchmarks/bench_load.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from sdgcube.app.access import AccessMiddleware, Gate, build_gate
from sdgcube.app.admission import RenderAdmission
from sdgcube.app.auth_routes import SignIn, audit_route, auth_routes, limits_route
from sdgcube.app.coverage_routes import (
    checked_query,
    coverage_description,
    coverage_response,
    wants_html,
)
from sdgcube.app.errors import error_response, http_exception, ogc_exception
from sdgcube.app.guard import RequestGuard
from sdgcube.app.hosts import MapProxyHost, is_capabilities
from sdgcube.app.jobs_routes import (
    caller_of,
    dismiss_job,
    job_output,
    jobs_list,
    share_job,
    visible_job,
)
from sdgcube.app.ogc_config import pygeoapi_config
from sdgcube.app.openapi_access import add_access
from sdgcube.app.prefer import PreferMiddleware
from sdgcube.app.publisher import Publisher
from sdgcube.app.pygeoapi_host import Endpoint, PygeoapiHost
from sdgcube.app.webapp import webapp_routes
from sdgcube.errors import UnknownJob
from sdgcube.processes.executor import fail_orphans
from sdgcube.processes.services import Services
from sdgcube.reports.http import report_endpoint
from sdgcube.settings import Settings
from sdgcube.tiles.app import RENDER_ROUTES, create_tiles_app
from sdgcube.tiles.wms_source import WmsGetMapShim

__all__ = ["create_app"]

_LOG = logging.getLogger(__name__)
ORPHAN_SWEEP_S = 30.0
RENDER_THREADS = 64
PYGEOAPI_THREADS = 32


def _internal_url(settings: Settings) -> str:
    """Where this server reaches itself (MapProxy asks the renderer over HTTP)."""
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host if ':' not in host else f'[{host}]'}:{settings.port}"


async def _watch(publisher: Publisher) -> None:
    """Refresh at once (MapProxy is built here, not before the server answers), then every
    ``watch_interval_s``; the lifespan has just swept the orphaned jobs."""
    services, last_sweep = publisher.services, time.monotonic()
    while True:
        try:
            await run_in_threadpool(publisher.refresh)
            if time.monotonic() - last_sweep > ORPHAN_SWEEP_S:
                last_sweep = time.monotonic()
                await run_in_threadpool(fail_orphans, services)
        except Exception:  # noqa: BLE001 - the watcher must outlive a failed refresh and retry
            _LOG.exception("refreshing the published collections failed; retrying")
        await asyncio.sleep(services.settings.watch_interval_s)


def cors_middleware(settings: Settings) -> Middleware:
    """Reads only: a page on another origin must never start or dismiss jobs through CORS."""
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD"],
        expose_headers=["*"],
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The server for these settings (from the environment and ``sdgcube.yaml`` when omitted)."""
    services = Services.build(settings or Settings())
    auth = services.settings.auth
    pygeoapi = PygeoapiHost(pygeoapi_config(services), lambda document: add_access(document, auth))
    mapproxy = MapProxyHost(services.settings.data_dir / "server")
    publisher = Publisher(
        services, pygeoapi, mapproxy, internal_url=_internal_url(services.settings)
    )
    publisher.refresh_collections()
    gate = build_gate(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = RENDER_THREADS
        # pygeoapi runs every request in the loop's default executor (6 threads on 2 cores); a few
        # synchronous job executions waiting on Dask would otherwise block every pygeoapi page.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(PYGEOAPI_THREADS, "pygeoapi")
        )
        await run_in_threadpool(fail_orphans, services)
        # torch takes seconds to import: the shipped models reach the catalog after start-up
        models = asyncio.create_task(run_in_threadpool(services.publish_models))
        watcher = asyncio.create_task(_watch(publisher))
        try:
            yield
        finally:
            watcher.cancel()
            models.cancel()
            services.close()

    app = Starlette(
        routes=[
            *_account_routes(services, gate),
            *webapp_routes(services.cube),
            *_routes(services, publisher, pygeoapi, mapproxy, gate),
        ],
        middleware=[
            cors_middleware(services.settings),
            Middleware(RequestGuard, settings=services.settings),
            Middleware(
                AccessMiddleware, gate=gate, key_query=services.settings.auth.key_query_parameter
            ),
            Middleware(PreferMiddleware),
        ],
        exception_handlers={HTTPException: http_exception},
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.publisher = publisher
    return app


def _account_routes(services: Services, gate: Gate | None) -> list[BaseRoute]:
    """``/limits``, and signing in and out when there are accounts."""
    routes: list[BaseRoute] = [limits_route(services.settings, gate), audit_route(services.audit)]
    if gate is not None:
        sign_in = SignIn(services.settings, gate.authenticator, services.sessions, services.audit)
        routes += auth_routes(sign_in)
    return routes


def _routes(
    services: Services,
    publisher: Publisher,
    pygeoapi: PygeoapiHost,
    mapproxy: MapProxyHost,
    gate: Gate | None,
) -> list[BaseRoute]:
    """sdgcube's own endpoints first; pygeoapi answers the rest."""
    import pygeoapi.api.coverages as coverages
    import pygeoapi.api.processes as processes
    import pygeoapi.api.stac as stac

    base_url = services.settings.base_url

    async def coverage(request: Request) -> Response:
        name = request.path_params["collection_id"]
        return await coverage_response(
            request, await run_in_threadpool(publisher.coverage_provider, name)
        )

    def description(part: str) -> Endpoint:
        async def describe(request: Request) -> Response:
            name = request.path_params["collection_id"]
            provider = await run_in_threadpool(publisher.coverage_provider, name)
            return await coverage_description(request, provider, part)

        return describe

    def published(endpoint: Endpoint) -> Endpoint:
        async def ensure_then(request: Request) -> Response:
            await run_in_threadpool(publisher.ensure, request.path_params["collection_id"])
            return await endpoint(request)

        return ensure_then

    async def jobs(request: Request) -> Response:
        return await jobs_list(request, services.jobs, base_url, pygeoapi.page)

    async def output(request: Request) -> Response:
        params = request.path_params
        return await job_output(params["job_id"], params["name"], services.settings.data_dir)

    async def dismiss(request: Request) -> Response:
        return await dismiss_job(
            request, pygeoapi.api.manager, services.jobs, services.audit, base_url
        )

    async def share(request: Request) -> Response:
        return await share_job(request, services.jobs, services.audit, base_url)

    def visible(endpoint: Endpoint) -> Endpoint:
        """A job the caller may not see is unknown to them."""

        async def checked(request: Request) -> Response:
            job_id = request.path_params["job_id"]
            try:
                await run_in_threadpool(visible_job, services.jobs, job_id, caller_of(request))
            except UnknownJob as exc:
                return error_response(exc)
            return await endpoint(request)

        return checked

    def unless_dismissed(endpoint: Endpoint) -> Endpoint:
        """pygeoapi answers 500 for the results of a dismissed job: there are none."""

        async def results(request: Request) -> Response:
            job_id = request.path_params["job_id"]
            record = await run_in_threadpool(services.jobs.get, job_id)
            if record is None or record.status == "dismissed":
                return ogc_exception(404, "NoSuchJob", f"job {job_id!r} has no results")
            return await endpoint(request)

        return visible(results)

    async def landing(request: Request) -> Response:
        """pygeoapi's landing page, with a link to the caller's limits."""
        import pygeoapi.api as core

        response = await pygeoapi.call(request, core.landing_page)
        if not is_json(response):
            return response
        document = json.loads(bytes(response.body))
        document.setdefault("links", []).append({"href": f"{base_url}/limits", "rel": "service-meta",
                                                 "type": "application/json",
                                                 "title": "Your limits and usage"})  # fmt: skip
        document["links"].append({"href": f"{base_url}/app/", "rel": "alternate", "type": "text/html",
                                  "title": "Web app"})  # fmt: skip
        return rewritten(response, document)

    execute = pygeoapi.endpoint(processes.execute_process, "process_id")
    coverage_html = pygeoapi.endpoint(
        coverages.get_collection_coverage, "collection_id", validate=False
    )
    return [
        Route("/", landing),
        Route("/collections/{collection_id}/coverage", HtmlOr(coverage, checked_query(published(coverage_html))),
              methods=["GET", "HEAD"]),
        Route("/collections/{collection_id}/coverage/domainset", description("domainset")),
        Route("/collections/{collection_id}/coverage/rangetype", description("rangetype")),
        Route("/jobs", jobs, methods=["GET", "HEAD"]),
        Route("/jobs/{job_id}/results", unless_dismissed(pygeoapi.endpoint(processes.get_job_result, "job_id"))),
        Route("/jobs/{job_id}", dismiss, methods=["DELETE"]),
        Route("/jobs/{job_id}", visible(pygeoapi.endpoint(processes.get_jobs, "job_id"))),
        Route("/jobs/{job_id}/sharing", share, methods=["POST"]),
        Route("/jobs/{job_id}/outputs/{name}", visible(output)),
        Route("/jobs/{job_id}/report", report_endpoint(services)),
        Route("/stac/{path:path}", StacPathGuard(pygeoapi.endpoint(stac.get_stac_path, "path"),
                                                 archive_dir=services.settings.archive_dir)),
        Mount("/tiles", RenderAdmission(WmsGetMapShim(create_tiles_app(services.settings, cube=services.cube)),
                                        limit=services.settings.limits.concurrent_renders,
                                        renders=RENDER_ROUTES)),
        Mount("/mapproxy", LatestMaps(mapproxy, publisher)),
        Route("/processes/{process_id}/execution", with_refusal(execute), methods=["POST"]),
        *pygeoapi.routes(published, lambda endpoint: readable_only(endpoint, gate)),
    ]  # fmt: skip


def readable_only(endpoint: Endpoint, gate: Gate | None) -> Endpoint:
    """The collection list without the collections the caller may not read (JSON; pygeoapi's HTML
    page lists names only, and every route behind a name is held to the policy)."""

    async def listed(request: Request) -> Response:
        response = await endpoint(request)
        caller = caller_of(request)
        if gate is None or caller.admin or response.status_code != 200 or not is_json(response):
            return response
        document = json.loads(bytes(response.body))
        if not isinstance(document.get("collections"), list):
            return response
        names = [c.get("id", "") for c in document.get("collections", [])]
        readable = await run_in_threadpool(gate.readable, caller, names)
        document["collections"] = [c for c in document["collections"] if c.get("id") in readable]
        return rewritten(response, document)

    return listed


def with_refusal(endpoint: Endpoint) -> Endpoint:
    """An execution the job manager refused for a quota answers as the quota says (429 with its
    Retry-After): pygeoapi, between the two, knows only a status and a message."""

    async def execute(request: Request) -> Response:
        response = await endpoint(request)
        refusal = caller_of(request).refusal
        return error_response(refusal) if refusal is not None else response

    return execute


def is_json(response: Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def rewritten(response: Response, document: Any) -> Response:
    """A JSON response of pygeoapi's with its document changed, its other headers kept."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(document, status_code=response.status_code, headers=headers)


class StacPathGuard:
    """Only catalog entries that exist reach pygeoapi's STAC browser, which answers 500 for the rest:
    paths climbing out of the archive and missing files are 404. Its own links name item files
    without their ``.json`` (``…/<id>/item``): those are served as the file they name."""

    def __init__(self, endpoint: Endpoint, *, archive_dir: Path) -> None:
        self.endpoint = endpoint
        self.archive_dir = archive_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._existing(unquote(scope["path_params"]["path"]))
        if path is None:
            await ogc_exception(404, "NotFound", "no such catalog entry")(scope, receive, send)
            return
        scope = {**scope, "path_params": {**scope["path_params"], "path": path}}
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    def _existing(self, path: str) -> str | None:
        parts = [part for part in path.split("/") if part]
        if ".." in parts:  # a NUL byte never gets here: RequestGuard refuses it
            return None
        if len(parts) < 2 or parts[0] != "archive":
            return path  # the catalog root and other resources: pygeoapi answers those
        target = self.archive_dir.joinpath(*parts[1:])
        if target.exists():
            return path
        return (
            f"{path.rstrip('/')}.json"
            if target.with_name(f"{target.name}.json").is_file()
            else None
        )


class LatestMaps:
    """A capabilities request waits for a pending MapProxy rebuild: a client that has just seen a
    new collection (a job result, say) then finds its layer. Map requests wait only for the first
    build, after start-up; later they are served by the MapProxy in place until the next is ready."""

    def __init__(self, app: MapProxyHost, publisher: Publisher) -> None:
        self.app = app
        self.publisher = publisher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = {"QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
                   "PATH_INFO": scope.get("path", "")}  # fmt: skip
        if scope["type"] == "http" and (is_capabilities(request) or not self.publisher.maps_built):
            await run_in_threadpool(self.publisher.refresh_maps)
        await self.app(scope, receive, send)


class HtmlOr:
    """An endpoint that answers machine formats itself and leaves the HTML pages to pygeoapi."""

    def __init__(self, handler: Endpoint, html: Endpoint) -> None:
        self.handler = handler
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await (self.html if wants_html(request) else self.handler)(request)
        await response(scope, receive, send)
