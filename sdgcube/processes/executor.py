"""Running jobs on Dask distributed: submission, the task that runs a job, cancellation, orphans.

A job is one Dask task (key ``sdgcube-job-<id>``) submitted fire-and-forget, so it outlives the web
request and the web worker that accepted it. The task receives the installation's settings as one
payload and finds that installation's `Services` on its worker (`worker_services`); it writes every
state change to the job table, the web workers only read it. Work inside a job fans out to the
cluster through ``JobContext.compute``.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distributed import Future, fire_and_forget, get_worker

from sdgcube.datacube.cog import atomic_path
from sdgcube.errors import JobCancelled, SdgcubeError
from sdgcube.processes.base import Plan
from sdgcube.processes.context import JobContext
from sdgcube.processes.jobs import ACTIVE, JobStore
from sdgcube.processes.services import Services, settings_payload, worker_services
from sdgcube.settings import Settings

__all__ = [
    "RESTARTED", "cancel_job", "fail_orphans", "job_dir", "job_task", "load_processor", "run_job",
    "submit_job", "task_key",
]  # fmt: skip

_LOG = logging.getLogger(__name__)
_ORPHAN_GRACE = timedelta(seconds=15)
RESTARTED = "restarted from the start: the Dask worker running the job died"


def task_key(job_id: str) -> str:
    return f"sdgcube-job-{job_id}"


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.data_dir / "jobs" / job_id


def submit_job(services: Services, job_id: str, processor: str, plan: Plan) -> Future:
    """Queue a job on the cluster; it runs even if nobody waits for it."""
    future = services.dask.client.submit(
        job_task,
        settings_payload(services.settings),
        job_id,
        processor,
        plan,
        key=task_key(job_id),
        pure=False,
    )
    fire_and_forget(future)
    return future


def load_processor(reference: str) -> Any:
    module, _, name = reference.rpartition(".")
    return getattr(importlib.import_module(module), name)({"name": reference})


def _write_result(path: Path, document: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2, default=str))


def job_task(payload: dict[str, Any], job_id: str, processor: str, plan: Plan) -> str:
    """The Dask task of a job: `run_job` with the services of the installation ``payload`` names."""
    return run_job(worker_services(payload), job_id, processor, plan)


def _where() -> str:
    try:
        return f"Dask worker {get_worker().address}"
    except ValueError:
        return "this process"  # `sdgcube run`: no worker, the job runs in a thread


def _claim(store: JobStore, job_id: str) -> bool:
    """Mark the job running for this attempt; False when it is not to run (dismissed, finished).

    A job still ``running`` when its task starts is one whose Dask worker died while running it:
    the scheduler gives the task to another worker (up to ``distributed.scheduler.allowed-failures``
    times), and this attempt takes the job over and runs it again from the start."""
    now = datetime.now(UTC)
    if store.update(job_id, only_if=("accepted",), status="running", started=now, progress=1,
                    message="started"):  # fmt: skip
        return True
    return store.update(job_id, only_if=("running",), started=now, progress=1, message=RESTARTED)


def run_job(services: Services, job_id: str, processor: str, plan: Plan) -> str:
    """Run one job and record its outcome. Returns the final status."""
    store, settings = services.jobs, services.settings
    if not _claim(store, job_id):
        return "dismissed"
    _LOG.info("job %s (%s) running on %s", job_id, processor, _where())
    folder = job_dir(settings, job_id)
    ctx = JobContext(
        services=services, job_id=job_id, work_dir=folder / "work",
        sink=lambda percent, message: store.update(
            job_id, only_if=("running",), progress=percent, message=message
        ),
    )  # fmt: skip
    shutil.rmtree(ctx.work_dir, ignore_errors=True)  # what an attempt on a dead worker left
    ctx.work_dir.mkdir(parents=True)
    try:
        result = load_processor(processor).run_plan(plan, ctx)
        location = folder / "result.json"
        _write_result(location, result.document)
        if not store.finish(job_id, "successful", "Job complete", progress=100,
                            mimetype=result.mimetype, location=str(location)):  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)  # dismissed while it ran: its results go too
            return "dismissed"
        return "successful"
    except JobCancelled:
        return "dismissed"
    except SdgcubeError as exc:
        store.finish(job_id, "failed", f"{type(exc).__name__}: {exc}")
        return "failed"
    except Exception as exc:  # noqa: BLE001 - whatever broke, the job must end as failed, with why
        _LOG.exception("job %s failed", job_id)
        store.finish(job_id, "failed", f"internal error: {type(exc).__name__}: {exc}")
        return "failed"
    finally:
        shutil.rmtree(ctx.work_dir, ignore_errors=True)


def cancel_job(services: Services, job_id: str) -> None:
    """Drop the job's task if it has not started; a running task stops at its next progress report."""
    client = services.dask.client
    client.cancel([Future(task_key(job_id), client)], force=True)


def _known_keys(dask_scheduler: Any, keys: list[str]) -> list[str]:
    return [key for key in keys if key in dask_scheduler.tasks]


def fail_orphans(services: Services) -> list[str]:
    """Mark failed the active jobs that no Dask task holds any more (a crash or restart lost them)."""
    store = services.jobs
    cutoff = datetime.now(UTC) - _ORPHAN_GRACE
    candidates = [job for job in store.active() if job.updated < cutoff]
    if not candidates:
        return []
    keys = [task_key(job.identifier) for job in candidates]
    known = set(services.dask.client.run_on_scheduler(_known_keys, keys=keys))
    orphans = []
    for job in candidates:
        if task_key(job.identifier) in known:
            continue
        # A task whose workers kept dying ends as KilledWorker and is forgotten too: that is the
        # other way a job loses its task.
        reason = (
            f"orphaned: the job was {job.status} when its server or Dask cluster stopped, or "
            "every Dask worker that ran it died; no task holds it any more. Submit it again."
        )
        if store.update(
            job.identifier,
            only_if=ACTIVE,
            status="failed",
            message=reason,
            finished=datetime.now(UTC),
        ):
            orphans.append(job.identifier)
    return orphans
