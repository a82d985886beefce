"""The job list (with the filters and paging OGC API Processes defines) and job dismissal.

pygeoapi's own list ignores ``status``/``processID`` filters, and its DELETE answers 500 under
Starlette; these two endpoints replace them and leave everything else about jobs to pygeoapi.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from sdgcube.app.coverage_routes import wants_html
from sdgcube.app.errors import error_response, ogc_exception
from sdgcube.auth.audit import AuditEvent, AuditLog
from sdgcube.auth.identity import OPEN_CALLER, Caller
from sdgcube.errors import Forbidden, InvalidRequest, UnknownJob
from sdgcube.processes.jobs import JobRecord, JobStore

__all__ = [
    "Page",
    "caller_of",
    "dismiss_job",
    "job_status_info",
    "jobs_list",
    "share_job",
    "visible_job",
]


def caller_of(request: Request) -> Caller:
    """Who is asking (set by `AccessMiddleware`; everybody, unrestricted, with authentication off)."""
    caller: Caller = getattr(request.state, "caller", OPEN_CALLER)
    return caller


def visible_job(store: JobStore, job_id: str, caller: Caller) -> JobRecord:
    """The job if the caller may see it: others' jobs are unknown to them, not forbidden."""
    record = store.get(job_id)
    identity = caller.identity
    if record is None or not record.visible_to(identity.user, identity.groups, admin=caller.admin):
        raise UnknownJob(job_id)
    return record


def owned_job(store: JobStore, job_id: str, caller: Caller) -> JobRecord:
    """The job if the caller may change it: its owner or an admin."""
    record = visible_job(store, job_id, caller)
    if not caller.admin and record.owner != caller.identity.user:
        raise Forbidden(f"job {job_id!r} is {record.owner}'s: only they or an admin may change it")
    return record


STATUSES = ("accepted", "running", "successful", "failed", "dismissed")


def job_status_info(record: JobRecord, base_url: str) -> dict[str, Any]:
    """An OGC ``statusInfo`` document."""
    info = {
        "type": "process", "jobID": record.identifier, "processID": record.process_id,
        "status": record.status, "message": record.message, "progress": record.progress,
        "created": record.created.isoformat(), "updated": record.updated.isoformat(),
        "started": record.started.isoformat() if record.started else None,
        "finished": record.finished.isoformat() if record.finished else None,
        "links": [{"href": f"{base_url}/jobs/{record.identifier}", "rel": "self", "type": "application/json"}],
    }  # fmt: skip
    if record.status == "successful":
        info["links"].append({"href": f"{base_url}/jobs/{record.identifier}/results",
                              "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                              "type": record.mimetype or "application/json"})  # fmt: skip
    return info


def _multi(request: Request, name: str) -> list[str]:
    return [v for value in request.query_params.getlist(name) for v in value.split(",") if v]


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name}={text!r} must be an integer from {low} to {high}")
    return int(text)


Page = Callable[[Request, str, dict[str, Any]], Awaitable[Response]]
"""Renders one of pygeoapi's page templates (``PygeoapiHost.page``)."""


async def jobs_list(request: Request, store: JobStore, base_url: str, page: Page) -> Response:
    """The caller's jobs, as JSON or as pygeoapi's jobs page (``f=html`` or Accept: text/html).

    Both come from the same list, filtered and paged alike: pygeoapi's own page ignored the
    ``status`` and ``processID`` filters."""
    statuses, processes = _multi(request, "status"), _multi(request, "processID")
    try:
        limit = _int(request, "limit", 100, 1, 10_000)
        offset = _int(request, "offset", 0, 0, 10**9)
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise ValueError(f"status {unknown} is not one of {list(STATUSES)}")
    except ValueError as exc:
        return ogc_exception(400, "InvalidParameterValue", str(exc))
    caller = caller_of(request)
    records, total = await run_in_threadpool(
        store.list,
        status=statuses or None,
        process_ids=processes or None,
        limit=limit,
        offset=offset,
        owner=None if caller.admin else caller.identity.user,
    )
    document = {
        "jobs": [job_status_info(r, base_url) for r in records],
        "links": _page_links(request, base_url, offset=offset, limit=limit, total=total),
        "numberMatched": total,
        "numberReturned": len(records),
    }
    if wants_html(request):
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # pygeoapi's DATETIME_FORMAT
        return await page(
            request, "jobs/index.html", {"jobs": document, "offset": offset, "now": now}
        )
    return JSONResponse(document)


def _page_links(
    request: Request, base_url: str, *, offset: int, limit: int, total: int
) -> list[dict[str, str]]:
    """self, next and prev, keeping the other query parameters (``f`` among them)."""
    query = {k: v for k, v in request.query_params.items() if k != "offset"}
    kind = "text/html" if wants_html(request) else "application/json"

    def link(rel: str, at: int) -> dict[str, str]:
        return {
            "href": f"{base_url}/jobs?{urlencode({**query, 'offset': at})}",
            "rel": rel,
            "type": kind,
        }

    links = [link("self", offset)]
    if offset + limit < total:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return links


async def dismiss_job(
    request: Request, manager: Any, store: JobStore, audit: AuditLog, base_url: str
) -> Response:
    from pygeoapi.process.base import JobNotFoundError

    job_id, caller = request.path_params["job_id"], caller_of(request)
    try:
        await run_in_threadpool(owned_job, store, job_id, caller)
        await run_in_threadpool(manager.delete_job, job_id)
        event = AuditEvent(
            "job.dismiss", caller.identity.user, job_id, key_id=caller.identity.key_id
        )
        await run_in_threadpool(audit.record, event)
    except (UnknownJob, Forbidden) as exc:
        return error_response(exc)
    except JobNotFoundError:
        return ogc_exception(404, "NoSuchJob", f"unknown job {job_id!r}")
    record = await run_in_threadpool(store.get, job_id)
    assert record is not None
    return JSONResponse(job_status_info(record, base_url))


_OUTPUT_NAME = re.compile(r"^[\w][\w.-]*$")
_OUTPUT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".parquet": "application/vnd.apache.parquet",
    ".tif": "image/tiff; application=geotiff",
}


async def job_output(job_id: str, name: str, data_dir: Path) -> Response:
    """A file a job wrote under its ``outputs`` folder (tables as CSV, SDMX-CSV, JSON; footprints as
    GeoJSON and GeoParquet)."""
    if not _OUTPUT_NAME.match(name) or not _OUTPUT_NAME.match(job_id):
        return ogc_exception(404, "NotFound", f"no output {name!r}")
    path = data_dir / "jobs" / job_id / "outputs" / name
    if not path.is_file():
        return ogc_exception(404, "NotFound", f"job {job_id!r} has no output {name!r}")
    media = next(
        (t for suffix, t in _OUTPUT_TYPES.items() if name.endswith(suffix)),
        "application/octet-stream",
    )
    return FileResponse(path, media_type=media, filename=name)


async def share_job(request: Request, store: JobStore, audit: AuditLog, base_url: str) -> Response:
    """``POST /jobs/{id}/sharing`` with ``{"groups": [...], "public": bool}``: who sees the job and
    its results besides its owner and admins."""
    job_id, caller = request.path_params["job_id"], caller_of(request)
    try:
        record = await run_in_threadpool(owned_job, store, job_id, caller)
        groups, public = _sharing(await request.json())
    except (UnknownJob, Forbidden, InvalidRequest) as exc:
        return error_response(exc)
    except ValueError:
        return error_response(InvalidRequest("the body must be JSON"))
    await run_in_threadpool(store.share, record.identifier, groups=groups, public=public)
    detail = f"groups={','.join(groups)} public={public}"
    event = AuditEvent(
        "job.share", caller.identity.user, job_id, detail=detail, key_id=caller.identity.key_id
    )
    await run_in_threadpool(audit.record, event)
    shared = await run_in_threadpool(store.get, job_id)
    assert shared is not None
    return JSONResponse(
        {
            **job_status_info(shared, base_url),
            "groups": list(shared.groups),
            "public": shared.public,
        }
    )


def _sharing(body: Any) -> tuple[list[str], bool]:
    if not isinstance(body, dict) or set(body) - {"groups", "public"}:
        raise InvalidRequest('the body must be {"groups": [names], "public": true|false}')
    groups, public = body.get("groups", []), body.get("public", False)
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise InvalidRequest("groups must be a list of group names")
    if not isinstance(public, bool):
        raise InvalidRequest("public must be true or false")
    return groups, public
