"""What a running process may touch: the cube, a work folder, progress reporting and Dask.

Progress goes straight to the job row, so every web worker sees it at once. Reporting progress is
also the point where a dismissed job stops: cancellation is cooperative, because a Dask task that
is already running cannot be killed from outside.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
from dask.diagnostics import Callback
from dask.utils import SerializableLock
from distributed import Lock, as_completed, futures_of, get_worker, worker_client

from sdgcube.datacube.cube import Cube
from sdgcube.errors import JobCancelled
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

__all__ = ["JobContext", "cluster_lock", "local_context", "thread_lock"]

_LOG = logging.getLogger(__name__)

ProgressSink = Callable[[int, str], bool]
"""Writes percent and message; returns False when the job has been dismissed."""


def _print_progress(percent: int, message: str) -> bool:
    return True


def cluster_lock(name: str) -> Lock:
    """A lock held by one task of the whole Dask cluster at a time."""
    return Lock(f"sdgcube-{name}")


def thread_lock(name: str) -> SerializableLock:
    """A lock held by one thread of this process at a time (the local threaded scheduler)."""
    return SerializableLock(f"sdgcube-{name}")


def _graph_size(collection: Any) -> int:
    parts = collection if isinstance(collection, list | tuple) else [collection]
    return sum(len(part.__dask_graph__()) for part in parts if dask.is_dask_collection(part))


def _in_worker() -> bool:
    try:
        get_worker()
    except ValueError:
        return False
    return True


@dataclass
class JobContext:
    services: Services
    job_id: str
    work_dir: Path
    sink: ProgressSink = _print_progress
    _last: tuple[int, str] = field(default=(-1, ""), init=False)

    @property
    def cube(self) -> Cube:
        return self.services.cube

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def progress(self, percent: float, message: str) -> None:
        """Report progress (0–100) and stop here if the job has been dismissed."""
        report = (max(0, min(99, int(percent))), message)
        if report == self._last:
            return
        self._last = report
        if not self.sink(*report):
            raise JobCancelled(f"job {self.job_id} was dismissed")

    @property
    def locks(self) -> Callable[[str], Any]:
        """Locks by name that hold wherever this job's tasks run."""
        return cluster_lock if _in_worker() else thread_lock

    def compute(
        self, collection: Any, *, start: float, end: float, message: str,
        reduce: Callable[[Any], Any] | None = None,
    ) -> Any:  # fmt: skip
        """Compute a dask collection, reporting progress from ``start`` to ``end`` percent; then, if
        given, ``reduce`` of the computed collection (a tree reduction of per-block parts).

        Inside a Dask worker the graph goes to the whole cluster (the task secedes while it waits);
        elsewhere it runs on the local threaded scheduler."""
        _LOG.info("job %s: %s: %d tasks", self.job_id, message, _graph_size(collection))
        if not _in_worker():
            result = self._compute_local(collection, start=start, end=end, message=message)
            return reduce(result) if reduce is not None else result
        with worker_client() as client:
            persisted = client.persist(collection)
            parts = futures_of(persisted)
            for done, _ in enumerate(as_completed(parts), start=1):
                self.progress(start + (end - start) * done / len(parts), message)
            return client.gather(
                client.compute(reduce(persisted) if reduce is not None else persisted)
            )

    def compute_each(self, parts: Sequence[Any], *, start: float, end: float, message: str) -> None:
        """Compute independent dask parts (one block each) a few at a time: two per worker thread
        in flight, the next submitted as one finishes. Given the whole graph at once, the
        scheduler reads far ahead (every year of many blocks) and memory grows with the area."""
        if not _in_worker():
            for first in range(0, len(parts), 4):
                dask.compute(*parts[first : first + 4], scheduler="threads")
                self.progress(
                    start + (end - start) * min(first + 4, len(parts)) / len(parts), message
                )
            return
        with worker_client() as client:
            waiting = list(reversed(parts))
            limit = 2 * sum(client.nthreads().values())
            running = as_completed(
                [client.compute(waiting.pop()) for _ in range(min(limit, len(waiting)))]
            )
            for done, future in enumerate(running, start=1):
                future.result()  # a failed block fails the job here
                if waiting:
                    running.add(client.compute(waiting.pop()))
                self.progress(start + (end - start) * done / len(parts), message)

    def _compute_local(self, collection: Any, *, start: float, end: float, message: str) -> Any:
        context = self

        class _Report(Callback):
            def _start_state(self, dsk: Any, state: Any) -> None:
                self.total = max(len(dsk), 1)
                self.done = 0

            def _posttask(
                self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any
            ) -> None:
                self.done += 1
                if self.done % 8 == 0:
                    context.progress(start + (end - start) * self.done / self.total, message)

        # Given to this computation only: one registered globally (``with _Report()``) would hear
        # every job's tasks in this process, and dask swaps the global set unguarded across threads.
        (result,) = dask.compute(collection, scheduler="threads", callbacks=[_Report()._callback])
        return result


@contextlib.contextmanager
def local_context(services: Services) -> Iterator[JobContext]:
    """A context for running a process in this process, outside any job."""
    work_dir = Path(tempfile.mkdtemp(prefix="sdgcube-run-"))
    try:
        yield JobContext(services=services, job_id=str(uuid.uuid4()), work_dir=work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
