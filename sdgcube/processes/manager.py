"""pygeoapi process manager backed by the job table and Dask distributed.

Replaces pygeoapi's stock managers, which run async jobs as threads inside the web worker (no
queue, no cancel, no progress, orphaned on restart) and keep the current processor on the shared
manager instance (concurrent requests race). Here nothing request-specific is stored on ``self``.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from pygeoapi.process.base import JobNotFoundError, JobResultNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from sdgcube.auth.audit import AuditEvent
from sdgcube.auth.identity import OPEN_CALLER, current_caller
from sdgcube.errors import (
    ClusterUnavailable,
    InvalidRequest,
    JobFailed,
    NoData,
    SdgcubeError,
    UnknownProduct,
)
from sdgcube.ogc_errors import ogc_error
from sdgcube.processes.base import CubeProcessor, Plan
from sdgcube.processes.executor import cancel_job, job_dir, submit_job
from sdgcube.processes.jobs import ACTIVE, JobOwner
from sdgcube.processes.services import Services

__all__ = ["CubeJobManager", "InvalidProcessInput"]


class InvalidProcessInput(ProcessorExecuteError):
    """An sdgcube error as the status and OGC code pygeoapi's API layer answers with."""

    def __init__(self, exc: SdgcubeError) -> None:
        super().__init__(str(exc), user_msg=str(exc))
        error = ogc_error(exc)
        self.http_status_code = error.status
        self.ogc_exception_code = error.code


class CubeJobManager(BaseManager):
    """Manager definition: ``{name: sdgcube.processes.manager.CubeJobManager, services: Services}``."""

    def __init__(self, manager_def: dict[str, Any]) -> None:
        super().__init__(manager_def)
        self.is_async = True
        self.supports_subscribing = False
        self.services: Services = manager_def["services"]
        self.store = self.services.jobs

    def get_jobs(
        self, status: JobStatus | None = None, limit: int | None = None, offset: int | None = None
    ) -> dict:
        caller = current_caller.get() or OPEN_CALLER
        records, total = self.store.list(
            status=[JobStatus(status).value] if status else None, limit=limit, offset=offset or 0,
            owner=None if caller.admin else caller.identity.user,
        )  # fmt: skip
        return {"jobs": [r.as_pygeoapi() for r in records], "numberMatched": total}

    def get_job(self, job_id: str) -> dict:
        record = self.store.get(job_id)
        if record is None:
            raise JobNotFoundError()
        return record.as_pygeoapi()

    def add_job(self, job_metadata: dict) -> str:
        raise NotImplementedError("jobs are added by execute_process")

    def update_job(self, job_id: str, update_dict: dict) -> bool:
        return self.store.update(job_id, **update_dict)

    def get_job_result(self, job_id: str) -> tuple[str, Any]:
        record = self.store.get(job_id)
        if record is None:
            raise JobNotFoundError()
        if record.location is None or not Path(record.location).exists():
            raise JobResultNotFoundError()
        return record.mimetype or "application/json", json.loads(Path(record.location).read_text())

    def delete_job(self, job_id: str) -> bool:
        """Dismiss: stop the work if it is queued or running, remove its files, keep the record."""
        record = self.store.get(job_id)
        if record is None:
            raise JobNotFoundError()
        if record.status in ACTIVE and self.store.finish(job_id, "dismissed", "Job dismissed"):
            cancel_job(self.services, job_id)
        else:  # finished, possibly a moment ago: its results go, so its status must say so
            self.store.update(job_id, status="dismissed", message="Job dismissed")
        shutil.rmtree(job_dir(self.services.settings, job_id), ignore_errors=True)
        return True

    def _plan(self, processor: CubeProcessor, data: dict[str, Any]) -> Plan:
        try:
            return processor.prepare(data, self.services.cube)
        except (NoData, UnknownProduct) as exc:
            # Data that an input names is missing: the request is at fault, not a missing resource.
            raise InvalidProcessInput(InvalidRequest(str(exc))) from None
        except SdgcubeError as exc:
            raise InvalidProcessInput(exc) from None

    def _add(self, job_id: str, process_id: str, plan: Plan) -> None:
        """Record the job as the caller's, admitted by their quotas in the same transaction; a
        refused quota is kept on the caller for the response (its Retry-After header)."""
        from sdgcube.auth.quotas import admit_job

        caller = current_caller.get() or OPEN_CALLER
        identity, quotas = caller.identity, caller.quotas
        owner = JobOwner(identity.user, identity.groups, plan.pixel_values)

        def admit(conn: Any) -> None:
            admit_job(conn, identity.user, quotas, pixels=plan.pixel_values, area_km2=plan.area_km2)

        try:
            self.store.add(job_id, process_id, plan.inputs.model_dump(mode="json"), owner, admit)
        except SdgcubeError as exc:
            caller.refusal = exc
            self.services.audit.record(
                AuditEvent(
                    "job.submit", identity.user, process_id, "denied", str(exc), identity.key_id
                )
            )
            raise InvalidProcessInput(exc) from None
        self.services.audit.record(
            AuditEvent(
                "job.submit", identity.user, f"{process_id} {job_id}", key_id=identity.key_id
            )
        )

    def execute_process(
        self,
        process_id: str,
        data_dict: dict,
        execution_mode: RequestedProcessExecutionMode | None = None,
        requested_outputs: dict | None = None,
        subscriber: Any = None,
        requested_response: str | None = "raw",
    ) -> tuple[str, str, Any, JobStatus, dict[str, str] | None]:
        processor = self.get_processor(process_id)
        plan = self._plan(processor, data_dict)
        job_id = str(uuid.uuid4())
        self._add(job_id, process_id, plan)
        reference = self.processes[process_id]["processor"]["name"]
        try:
            future = submit_job(self.services, job_id, reference, plan)
        except OSError as exc:
            self.store.finish(job_id, "failed", f"the Dask scheduler could not be reached: {exc}")
            raise InvalidProcessInput(ClusterUnavailable(f"jobs cannot run now: {exc}")) from None
        if execution_mode == RequestedProcessExecutionMode.respond_async:
            return (
                job_id,
                "application/json",
                None,
                JobStatus.accepted,
                {"Preference-Applied": "respond-async"},
            )
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker or task: the job must end as failed
            self.store.finish(
                job_id, "failed", f"the job's Dask task failed: {type(exc).__name__}: {exc}"
            )
        record = self.store.get(job_id)
        assert record is not None
        if record.status != JobStatus.successful.value:
            # Inputs were refused with a 400 before the job existed: a failure now is internal.
            raise InvalidProcessInput(JobFailed(job_id, record.message or record.status))
        mimetype, document = self.get_job_result(job_id)
        return job_id, mimetype, document, JobStatus.successful, None
