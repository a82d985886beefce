"""``sdgcube run PROCESS --input key=value …``: any process, from the command line, as a job.

The run is a real job (a row in the job table, the same status and outputs as through the API),
executed in this process; a progress bar follows the percent and message the process reports.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from sdgcube.cli.errors import fail, user_errors

__all__ = ["parse_inputs", "run"]


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs. Lists and objects are JSON and ``null`` is None; anything else stays text,
    which the process's input model converts (``2019`` stays a year string, ``0.5`` becomes a number
    where one is expected)."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise fail(f"--input {pair!r} must be key=value")
        if text.strip() == "null":
            inputs[key] = None
        elif text.lstrip()[:1] in ("[", "{"):
            try:
                inputs[key] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise fail(f"--input {key}: {text!r} is not valid JSON ({exc.msg})") from None
        else:
            inputs[key] = text
    return inputs


def _follow(store: Any, job_id: str, worker: threading.Thread) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("queued", total=100)
        while worker.is_alive():
            record = store.get(job_id)
            if record is not None:
                progress.update(task, completed=record.progress, description=record.message[:60])
            time.sleep(0.3)
        progress.update(task, completed=100)


def run(
    process: Annotated[str, typer.Argument(help="Process id, e.g. band-math or sdg-15-3-1")],
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="key=value (JSON values allowed)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).")
    ] = None,
) -> None:
    """Run a process as a job with a progress bar; print where its outputs went."""
    from sdgcube.processes.executor import load_processor, run_job
    from sdgcube.processes.registry import PROCESSES
    from sdgcube.processes.services import Services
    from sdgcube.settings import Settings

    values = parse_inputs(inputs or [])
    with user_errors():
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
        if process not in PROCESSES:
            raise fail(f"unknown process {process!r}; one of {sorted(PROCESSES)}")
        processor = load_processor(PROCESSES[process])
        with Services.build(settings) as services:
            plan = processor.prepare(values, services.cube)
            store = services.jobs
            job_id = str(uuid.uuid4())
            store.add(job_id, process, plan.inputs.model_dump(mode="json"))
            worker = threading.Thread(
                target=run_job, args=(services, job_id, PROCESSES[process], plan)
            )
            worker.start()
            _follow(store, job_id, worker)
            worker.join()
            record = store.get(job_id)
    assert record is not None
    if record.status != "successful":
        raise fail(f"job {job_id} {record.status}: {record.message}")
    print(f"job {job_id} successful; result document: {record.location}")
    print(json.dumps(json.loads(Path(record.location).read_text()), indent=2))
