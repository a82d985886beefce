"""``GET /jobs/{job_id}/report?f=html|pdf|xlsx``: the report of a finished indicator job.

Held to the job's visibility (`visible_job`: another user's job is unknown, 404); a job that is
not successful, or not an indicator job, has no report (404 with the reason). The report is built
in a worker thread: it reads the cube and WeasyPrint takes seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdgcube.app.errors import error_response
from sdgcube.app.jobs_routes import caller_of
from sdgcube.auth.identity import Caller
from sdgcube.errors import SdgcubeError

if TYPE_CHECKING:
    from sdgcube.app.pygeoapi_host import Endpoint
    from sdgcube.processes.services import Services

__all__ = ["report_endpoint"]


def _make(services: Services, job_id: str, caller: Caller, fmt: str) -> bytes:
    from sdgcube.reports import build_report, job_for_report, render

    record, document = job_for_report(services, job_id, caller)
    return render(build_report(services, record, document), fmt)


def report_endpoint(services: Services) -> Endpoint:
    """The endpoint over the server's `Services`."""
    from sdgcube.reports import FORMATS, norm_format

    async def report(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            fmt = norm_format(request.query_params.get("f"))
            body = await run_in_threadpool(_make, services, job_id, caller_of(request), fmt)
        except SdgcubeError as exc:
            return error_response(exc)
        headers = {} if fmt == "html" else {
            "Content-Disposition": f'attachment; filename="report-{job_id}.{fmt}"'}  # fmt: skip
        return Response(body, media_type=FORMATS[fmt], headers=headers)

    return report
