"""Running jobs on Dask distributed: submission, the task that runs a job, cancellation, orphans.

A job is one Dask task (key ``sdgcube-job-<id>``) submitted fire-and-forget, so it outlives the web
request and the web worker that accepted it. The task itself writes every state change to the job
table; the web workers only read it. Work inside a job fans out to the cluster through
``JobContext.compute``.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distributed import Client, Future, LocalCluster, fire_and_forget

from sdgcube.datacube.cog import atomic_path
from sdgcube.errors import JobCancelled, SdgcubeError
from sdgcube.processes.base import Plan
from sdgcube.processes.context import JobContext
from sdgcube.processes.jobs import ACTIVE, job_store
from sdgcube.settings import Settings

__all__ = [
    "cancel_job", "dask_client", "fail_orphans", "job_dir", "load_processor", "run_job", "settings_payload",
    "submit_job", "task_key",
]  # fmt: skip

_LOG = logging.getLogger(__name__)
_ORPHAN_GRACE = timedelta(seconds=15)


_client_lock = threading.Lock()


@functools.cache
def _client(address: str | None) -> Client:
    if address is None:
        # Without a scheduler (tests, a bare create_app) jobs still run on Dask, inside this process.
        return Client(
            LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
        )
    return Client(address, set_as_default=False)


def dask_client(settings: Settings) -> Client:
    """The Dask client of this process for the configured scheduler (a local cluster if none)."""
    with _client_lock:  # two first submissions at once must not start two clusters
        return _client(settings.dask_address)


def task_key(job_id: str) -> str:
    return f"sdgcube-job-{job_id}"


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.data_dir / "jobs" / job_id


def settings_payload(settings: Settings) -> dict[str, Any]:
    # Secrets are passed explicitly: a Dask worker elsewhere may not share this process's environment.
    payload = settings.model_dump(mode="json", exclude={"db_url"})
    if settings.db_url is not None:
        payload["db_url"] = settings.db_url.get_secret_value()
    return payload


def submit_job(settings: Settings, job_id: str, processor: str, plan: Plan) -> Future:
    """Queue a job on the cluster; it runs even if nobody waits for it."""
    future = dask_client(settings).submit(
        run_job,
        settings_payload(settings),
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


def run_job(settings_payload: dict[str, Any], job_id: str, processor: str, plan: Plan) -> str:
    """The Dask task: run one job and record its outcome. Returns the final status."""
    settings = Settings(**settings_payload)
    store = job_store(settings)
    now = datetime.now(UTC)
    if not store.update(
        job_id, only_if=("accepted",), status="running", started=now, progress=1, message="started"
    ):
        return "dismissed"
    folder = job_dir(settings, job_id)
    ctx = JobContext(
        settings=settings, job_id=job_id, work_dir=folder / "work",
        sink=lambda percent, message: store.update(
            job_id, only_if=("running",), progress=percent, message=message
        ),
    )  # fmt: skip
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        process = load_processor(processor)
        result = process.run_plan(plan, ctx)
        location = folder / "result.json"
        _write_result(location, result.document)
        if not store.finish(job_id, "successful", "Job complete", progress=100, mimetype=result.mimetype,
                            location=str(location)):  # fmt: skip
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
        if "cube" in ctx.__dict__:
            ctx.cube.close()
        shutil.rmtree(ctx.work_dir, ignore_errors=True)


def cancel_job(settings: Settings, job_id: str) -> None:
    """Drop the job's task if it has not started; a running task stops at its next progress report."""
    client = dask_client(settings)
    client.cancel([Future(task_key(job_id), client)], force=True)


def _known_keys(dask_scheduler: Any, keys: list[str]) -> list[str]:
    return [key for key in keys if key in dask_scheduler.tasks]


def fail_orphans(settings: Settings) -> list[str]:
    """Mark failed the active jobs that no Dask task holds any more (a crash or restart lost them)."""
    store = job_store(settings)
    cutoff = datetime.now(UTC) - _ORPHAN_GRACE
    candidates = [job for job in store.active() if job.updated < cutoff]
    if not candidates:
        return []
    keys = [task_key(job.identifier) for job in candidates]
    known = set(dask_client(settings).run_on_scheduler(_known_keys, keys=keys))
    orphans = []
    for job in candidates:
        if task_key(job.identifier) in known:
            continue
        reason = (
            f"orphaned: the job was {job.status} when its server or Dask cluster stopped; "
            "no task holds it any more. Submit it again."
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
