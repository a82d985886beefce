"""The distributed topology on one machine: a Dask scheduler and two workers started from the
command line, the index in PostgreSQL + PostGIS, and ``sdgcube serve`` submitting its jobs to that
scheduler. Jobs run on those workers, outlive the death of the worker running them, and outlive a
restart of the server. Everything is talked to as a user would: HTTP, the command line, Dask's
own client for what the scheduler knows."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy as sa
from distributed import Client

from sdgcube.datacube.database import norm_db_url
from sdgcube.processes.executor import task_key
from sdgcube.settings import Settings
from tests.server.conftest import SDGCUBE, Server, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))
BAND_MATH = "sdgcube.processes.band_math.BandMath"
NDVI = "(nir08 - red) / (nir08 + red)"
FINAL = ("successful", "failed", "dismissed")


def _stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each process group (a nanny and its worker) at once, then SIGKILL to every group:
    whatever lingers, a worker whose nanny has gone included."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))


@dataclass
class Cluster:
    """A scheduler and its workers, each a ``dask`` command with its own log file."""

    address: str
    folder: Path
    client: Client
    processes: dict[str, subprocess.Popen]

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def holder(self, key: str) -> str | None:
        """The worker the scheduler has the task ``key`` processing on, if any."""
        held = [address for address, keys in self.client.processing().items() if key in keys]
        assert len(held) <= 1, held
        return held[0] if held else None

    def finished_on(self, key: str, timeout: float = 30.0) -> list[str]:
        """The workers the scheduler's task stream records finishing the task ``key`` on (a job
        is successful in its row a moment before its task tells the scheduler it is done)."""
        deadline = time.monotonic() + timeout
        while True:
            stream = self.client.get_task_stream()
            found = [task["worker"] for task in stream if task["key"] == key]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def worker_pid(self, address: str) -> int:
        """The pid of the worker process at ``address``, checked to be one this test started."""
        pid = self.client.run(os.getpid, workers=[address])[address]
        nannies = {self.processes[name].pid for name in ("w1", "w2")}
        assert psutil.Process(pid).ppid() in nannies, f"worker {address} is not ours"
        return pid


def _spawn(folder: Path, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    log = (folder / f"{name}.log").open("ab")
    try:
        return subprocess.Popen([DASK, *args], env=env, stdout=log, stderr=log,
                                start_new_session=True)  # fmt: skip
    finally:
        log.close()  # the child holds its own copy


@dataclass
class Demo:
    settings: Settings
    process: subprocess.Popen


@pytest.fixture(scope="module", autouse=True)
def postgis_demo(make_settings: Callable[[str], Settings]) -> Iterator[Demo]:
    """``sdgcube demo-data`` making the small demo in a fresh PostGIS index; autouse so that it
    starts first and runs while the cluster starts (`server` waits for it)."""
    settings = make_settings("postgis")
    env = Server(url="", port=0, settings=settings).environment()
    log = (settings.data_dir / "demo-data.log").open("ab")
    process = subprocess.Popen([SDGCUBE, "demo-data", "--size", "small", "--seed", "7"], env=env,
                               stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    log.close()
    try:
        yield Demo(settings, process)
    finally:
        _stop_all([process])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``dask scheduler`` and two ``dask worker --nworkers 1 --nthreads 1``, importing this
    checkout's sdgcube (preloaded, as a deployment would, so that the first job does not wait for
    the imports); sdgcube's INFO log lines go to each worker's log."""
    folder = tmp_path_factory.mktemp("dask")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "DASK_LOGGING__SDGCUBE": "info"}
    address = f"tcp://127.0.0.1:{free_port()}"
    processes: dict[str, subprocess.Popen] = {}
    client = None
    try:
        processes["scheduler"] = _spawn(folder, "scheduler", ["scheduler", "--host", "127.0.0.1",
                                        "--port", address.rsplit(":", 1)[1], "--no-dashboard"], env)  # fmt: skip
        for name in ("w1", "w2"):
            processes[name] = _spawn(folder, name, ["worker", address, "--name", name, "--nworkers", "1",
                                     "--nthreads", "1", "--no-dashboard", "--death-timeout", "60",
                                     "--local-directory", str(folder / name),
                                     "--preload", "sdgcube.processes.executor",
                                     "--preload", "sdgcube.processes.band_math"], env)  # fmt: skip
        client = Client(address, timeout=60, set_as_default=False)
        client.wait_for_workers(2, timeout=180)
        client.get_task_stream()  # from now on the scheduler records where each task ran
        yield Cluster(address, folder, client, processes)
    finally:
        if client is not None:
            client.close()
        _stop_all(list(processes.values()))


@pytest.fixture(scope="module")
def server(postgis_demo: Demo, cluster: Cluster) -> Iterator[Server]:
    """``sdgcube serve`` over the demo's index, its jobs going to ``cluster``."""
    try:
        returncode = postgis_demo.process.wait(300)
    except subprocess.TimeoutExpired:
        returncode = None
    log = (postgis_demo.settings.data_dir / "demo-data.log").read_text(errors="replace")
    assert returncode == 0, f"sdgcube demo-data: {returncode}: {log[-3000:]}"
    port = free_port()
    server = Server(url=f"http://127.0.0.1:{port}", port=port, settings=postgis_demo.settings,
                    env={"SDGCUBE_DASK_ADDRESS": cluster.address})  # fmt: skip
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def _submit(http: httpx.Client, when: str) -> str:
    response = http.post("/processes/band-math/execution",
                         json={"inputs": {"expression": NDVI, "datetime": when, "reducer": "median"}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()["jobID"]


def _final(http: httpx.Client, server: Server, job_id: str) -> dict:
    status: dict = {}

    def finished() -> bool:
        status.update(http.get(f"/jobs/{job_id}", params={"f": "json"}).json())
        return status["status"] in FINAL

    server.wait_for(finished, timeout=180, what=f"job {job_id} to end")
    return status


def _ran_on(cluster: Cluster, job_id: str) -> dict[str, list[str]]:
    """Per worker log, the addresses it logged running the job on."""
    marker = f"job {job_id} ({BAND_MATH}) running on Dask worker "
    return {
        name: [line.split(marker, 1)[1].strip() for line in cluster.log(name).splitlines() if marker in line]
        for name in ("w1", "w2")
    }  # fmt: skip


def test_a_job_runs_on_the_cluster_workers(cluster: Cluster, server: Server, http) -> None:
    assert f"(Dask at {cluster.address})" in server.log()  # no cluster of its own
    workers = set(cluster.client.scheduler_info()["workers"])
    assert len(workers) == 2
    imported = cluster.client.run(lambda: __import__("sdgcube").__file__)
    assert all(Path(file).is_relative_to(ROOT) for file in imported.values()), imported
    job_id = _submit(http, "2010/2012")
    status = _final(http, server, job_id)
    assert status["status"] == "successful", status

    ran = _ran_on(cluster, job_id)
    addresses = [address for found in ran.values() for address in found]
    assert len(addresses) == 1 and addresses[0] in workers, ran  # once, on one of the two
    assert cluster.finished_on(task_key(job_id)) == addresses
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    assert len(result["time_slices"]) == 3
    assert http.get(f"/collections/{result['collection']}", params={"f": "json"}).status_code == 200


def _hold_running(
    engine: sa.Engine, job_id: str, timeout: float = 120.0
) -> tuple[sa.Connection, datetime] | None:
    """A transaction holding the job's row locked while the job is ``running``, and when the job
    started: the job's next write (a progress report, or its end) waits for as long as the lock.
    None if the job ended before it could be caught running."""
    query = sa.text("SELECT status, started FROM sdgcube.jobs WHERE identifier = :id FOR UPDATE")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = engine.connect()
        row = conn.execute(query, {"id": job_id}).one()
        if row.status == "running":
            return conn, row.started
        conn.close()  # releases the lock: an accepted job must be able to start
        if row.status in FINAL:
            return None
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not start in {timeout:.0f} s")


def _submit_and_hold(http: httpx.Client, engine: sa.Engine) -> tuple[str, sa.Connection, datetime]:
    """A job held running (`_hold_running`); another one if a job is done before it is caught."""
    for _ in range(3):
        job_id = _submit(http, "2000/2024")
        if (held := _hold_running(engine, job_id)) is not None:
            return job_id, *held
    raise AssertionError("three jobs in a row ended before they could be caught running")


def test_a_job_outlives_the_death_of_its_worker(cluster: Cluster, server: Server, http) -> None:
    """The worker running a job is SIGKILLed while the job is ``running`` (held there by a lock on
    its row, so the kill never comes too late); Dask gives the task to another worker, which runs
    the job again from the start. Before, that re-run dismissed itself and the job was left
    ``running`` until the server's orphan sweep failed it."""
    assert server.settings.db_url is not None
    engine = sa.create_engine(norm_db_url(server.settings.db_url.get_secret_value()))
    try:
        job_id, conn, first_started = _submit_and_hold(http, engine)
        key = task_key(job_id)
        try:
            killed = cluster.holder(key)
            assert killed is not None, "the scheduler has no worker running the running job"
            pid = cluster.worker_pid(killed)
            os.kill(pid, signal.SIGKILL)
            # The scheduler gives the task to a worker that is alive (the other one, or the one the
            # nanny started in place of the dead one: a new address either way).
            server.wait_for(lambda: cluster.holder(key) not in (None, killed), timeout=60,
                            what=f"the scheduler to give {key} to another worker")  # fmt: skip
            rerun_on = cluster.holder(key)
        finally:
            conn.close()  # the job runs on
        status = _final(http, server, job_id)
    finally:
        engine.dispose()

    assert status["status"] == "successful", status
    assert status["progress"] == 100
    assert datetime.fromisoformat(status["started"]) > first_started  # run again from the start
    ran = _ran_on(cluster, job_id)
    assert sorted(a for found in ran.values() for a in found) == sorted([killed, rerun_on]), ran
    assert cluster.finished_on(key) == [rerun_on]
    assert any(
        f"Worker process {pid} was killed by signal 9" in cluster.log(n) for n in ("w1", "w2")
    )
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    assert len(result["time_slices"]) == 25
    assert http.get(f"/collections/{result['collection']}", params={"f": "json"}).status_code == 200


def _snapshot(http: httpx.Client) -> dict[str, object]:
    """Every job, its status and its results, and each result collection, as the server serves them."""
    listing = http.get("/jobs", params={"f": "json", "limit": 100})
    assert listing.status_code == 200
    jobs = listing.json()["jobs"]
    snapshot: dict[str, object] = {"jobs": jobs}
    for job in jobs:
        job_id = job["jobID"]
        snapshot[f"/jobs/{job_id}"] = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
        if job["status"] != "successful":
            continue
        results = http.get(f"/jobs/{job_id}/results", params={"f": "json"})
        assert results.status_code == 200, results.text
        collection = http.get(f"/collections/{results.json()['collection']}", params={"f": "json"})
        assert collection.status_code == 200, collection.text
        snapshot[f"/jobs/{job_id}/results"] = results.json()
        snapshot[f"collection of {job_id}"] = collection.json()
    return snapshot


def test_jobs_and_results_outlive_a_server_restart(cluster: Cluster, server: Server, http) -> None:
    if not any(job["status"] == "successful" for job in http.get("/jobs?f=json").json()["jobs"]):
        assert _final(http, server, _submit(http, "2015"))["status"] == "successful"  # run alone
    before = _snapshot(http)
    server.stop()
    server.start()
    after = _snapshot(http)
    assert after == before
