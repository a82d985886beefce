"""Sixteen jobs of each process kind at once, each registering its results: none deadlocks, every
result lands in the index and the archive, and nothing is left half-written.

Before index writes were serialised, 8 band-math jobs at once failed 9 times in 24 with
``DeadlockDetected`` on ``INSERT INTO agdc.dataset``, each leaving an empty result folder."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.demo import generate_demo
from sdgcube.datacube.index import init_index
from sdgcube.processes.executor import job_dir, load_processor, run_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

pytestmark = pytest.mark.slow
JOBS = 16


@pytest.fixture(scope="module")
def services(backend: str, make_settings: Callable[[str], Settings]) -> Services:
    """A demo of its own: the jobs add over a hundred products the shared demo must not see."""
    settings = make_settings(backend)
    dc = init_index(settings)
    generate_demo(dc, settings.archive_dir, settings.data_dir / "demo", size="small", seed=7)
    return Services.of(Cube(dc, settings))


def _empty_or_hidden_folders(root: Path) -> list[Path]:
    folders = [p for p in root.rglob("*") if p.is_dir()]
    return [p for p in folders if p.name.startswith(".") or not any(p.iterdir())]


@pytest.mark.parametrize("process_id", sorted(PROCESSES))
def test_sixteen_jobs_at_once(services: Services, process_id: str) -> None:
    processor = load_processor(PROCESSES[process_id])
    plan = processor.prepare(processor.example, services.cube)
    job_ids = [str(uuid.uuid4()) for _ in range(JOBS)]
    for job_id in job_ids:
        services.jobs.add(job_id, process_id, {"inputs": processor.example})
    start = threading.Barrier(JOBS)

    def run(job_id: str) -> str:
        start.wait()
        return run_job(services, job_id, PROCESSES[process_id], plan)

    with ThreadPoolExecutor(JOBS) as pool:
        outcomes = list(pool.map(run, job_ids))

    messages = {services.jobs.get(job_id).message for job_id in job_ids}  # type: ignore[union-attr]
    assert outcomes == ["successful"] * JOBS, messages
    registered = set()
    for job_id in job_ids:
        document = json.loads((job_dir(services.settings, job_id) / "result.json").read_text())
        products = _products_named_in(document)
        assert products, f"job {job_id} registered nothing"
        registered |= products
    indexed = {product.name for product in services.cube.products()}
    assert registered <= indexed
    for product in registered:
        assert services.cube.datasets(product), f"{product} has no dataset"
    assert not _empty_or_hidden_folders(services.settings.archive_dir)


def _products_named_in(document: object) -> set[str]:
    """The products a result document links to as collections."""
    found: set[str] = set()
    if isinstance(document, dict):
        link = document.get("collection")
        if isinstance(link, str) and "/collections/" in link:
            found.add(link.rsplit("/collections/", 1)[1])
        for value in document.values():
            found |= _products_named_in(value)
    elif isinstance(document, list):
        for value in document:
            found |= _products_named_in(value)
    return found
