"""What a running process may touch: the cube, a work folder, progress reporting and Dask.

Progress goes straight to the job row, so every web worker sees it at once. Reporting progress is
also the point where a dismissed job stops: cancellation is cooperative, because a Dask task that
is already running cannot be killed from outside.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
from dask.diagnostics import Callback
from distributed import as_completed, futures_of, get_worker, worker_client

from sdgcube.datacube.cube import Cube
from sdgcube.errors import JobCancelled
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

__all__ = ["JobContext", "local_context"]

ProgressSink = Callable[[int, str], bool]
"""Writes percent and message; returns False when the job has been dismissed."""


def _print_progress(percent: int, message: str) -> bool:
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

    def compute(self, collection: Any, *, start: float, end: float, message: str) -> Any:
        """Compute a dask collection, reporting progress from ``start`` to ``end`` percent.

        Inside a Dask worker the graph goes to the whole cluster (the task secedes while it waits);
        elsewhere it runs on the local threaded scheduler."""
        try:
            get_worker()
        except ValueError:
            return self._compute_local(collection, start=start, end=end, message=message)
        with worker_client() as client:
            persisted = client.persist(collection)
            parts = futures_of(persisted)
            for done, _ in enumerate(as_completed(parts), start=1):
                self.progress(start + (end - start) * done / len(parts), message)
            return client.compute(persisted).result()

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
