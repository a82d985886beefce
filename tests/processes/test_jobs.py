"""The job table and the Dask side of jobs: store operations, the orphan sweep, and ``run_job`` run
directly (slow, on the demo archive) through acceptance, success, failure and dismissal."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from distributed import Event

from sdgcube.processes import executor
from sdgcube.processes.band_math import BandMath, BandMathPlan
from sdgcube.processes.base import Plan
from sdgcube.processes.executor import fail_orphans, job_dir, run_job, task_key
from sdgcube.processes.jobs import JobStore
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

BAND_MATH = "sdgcube.processes.band_math.BandMath"
NDVI = "(nir08 - red) / (nir08 + red)"


@pytest.fixture(scope="module")
def services(empty_cube) -> Services:
    return Services.of(empty_cube)


@pytest.fixture(scope="module")
def settings(services: Services) -> Settings:
    return services.settings


@pytest.fixture(scope="module")
def store(services: Services) -> JobStore:
    return services.jobs


def _new_id() -> str:
    return str(uuid.uuid4())


def _age(store: JobStore, job_id: str, seconds: float) -> None:
    """Pretend the job was last touched ``seconds`` ago."""
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE sdgcube.jobs SET updated = now() - make_interval(secs => :s) WHERE identifier = :id"
            ),
            {"s": seconds, "id": job_id},
        )


# --- the store -----------------------------------------------------------------------------------------


def test_a_second_store_on_the_database_sees_the_same_jobs(store):
    job_id = _new_id()
    store.add(job_id, "band-math", {"inputs": {}})
    assert JobStore(store.engine).get(job_id) == store.get(job_id)


def test_add_and_get(store):
    job_id = _new_id()
    parameters = {
        "inputs": {"expression": NDVI, "bbox": [1.5, 2, 3, 4]},
        "nested": {"a": [None, True]},
    }
    before = datetime.now(UTC)
    store.add(job_id, "band-math", parameters)
    job = store.get(job_id)
    assert job is not None
    assert (job.identifier, job.process_id, job.status, job.progress) == (
        job_id,
        "band-math",
        "accepted",
        0,
    )
    assert job.message == "Job accepted and queued"
    assert job.parameters == parameters
    assert job.created.tzinfo is not None and before - timedelta(
        seconds=5
    ) < job.created < datetime.now(UTC)
    assert job.updated == job.created
    assert job.started is job.finished is job.mimetype is job.location is job.task_key is None


def test_get_unknown_is_none(store):
    assert store.get(_new_id()) is None


def test_add_twice_is_an_error(store):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    with pytest.raises(sa.exc.IntegrityError):
        store.add(job_id, "band-math", {})


def test_update_only_if(store):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    assert store.update(job_id, only_if=("running",), progress=50) is False
    assert store.get(job_id).progress == 0
    assert store.update(job_id, only_if=("accepted",), status="running", progress=1) is True
    assert store.update(job_id, only_if=("running",), progress=50, message="half way") is True
    job = store.get(job_id)
    assert (job.status, job.progress, job.message) == ("running", 50, "half way")
    assert job.updated > job.created
    assert store.update(job_id, task_key="k") is True  # no condition
    assert store.get(job_id).task_key == "k"
    assert store.update(_new_id(), progress=3) is False


@pytest.mark.parametrize("start", ["accepted", "running"])
def test_finish_moves_an_active_job_once(store, start):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status=start)
    assert store.finish(
        job_id,
        "successful",
        "Job complete",
        progress=100,
        location="/r.json",
        mimetype="application/json",
    )
    job = store.get(job_id)
    assert (job.status, job.message, job.progress, job.location, job.mimetype) == (
        "successful", "Job complete", 100, "/r.json", "application/json"
    )  # fmt: skip
    assert job.finished is not None and job.finished >= job.created
    # already final: a late failure (or dismissal) does not overwrite it
    assert store.finish(job_id, "failed", "too late") is False
    assert store.get(job_id).status == "successful"


def test_finish_leaves_a_dismissed_job_alone(store):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status="dismissed")
    assert store.finish(job_id, "successful", "done") is False
    assert store.get(job_id).status == "dismissed"


def test_list_filters_orders_and_pages(store):
    first, second = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    ids = []
    for process, status in [(first, "accepted"), (first, "running"), (second, "successful"), (first, "failed"),
                            (second, "accepted"), (first, "successful")]:  # fmt: skip
        job_id = _new_id()
        store.add(job_id, process, {})
        store.update(job_id, status=status)
        ids.append(job_id)
    newest_first = ids[::-1]

    jobs, total = store.list(process_ids=[first, second])
    assert [j.identifier for j in jobs] == newest_first and total == 6
    jobs, total = store.list(process_ids=[first])
    assert [j.identifier for j in jobs] == [ids[5], ids[3], ids[1], ids[0]] and total == 4
    jobs, total = store.list(process_ids=[first, second], status=["accepted", "running"])
    assert [j.identifier for j in jobs] == [ids[4], ids[1], ids[0]] and total == 3
    jobs, total = store.list(process_ids=[second], status=["successful"])
    assert [j.identifier for j in jobs] == [ids[2]] and total == 1
    jobs, total = store.list(process_ids=[first, second], limit=2, offset=1)
    assert [j.identifier for j in jobs] == newest_first[1:3] and total == 6
    jobs, total = store.list(process_ids=[first, second], limit=10, offset=5)
    assert [j.identifier for j in jobs] == [ids[0]] and total == 6
    jobs, total = store.list(process_ids=[first, second], offset=6)
    assert jobs == [] and total == 6
    jobs, total = store.list(process_ids=[first], status=["dismissed"])
    assert jobs == [] and total == 0
    active_ids = {j.identifier for j in store.active()}
    assert {ids[0], ids[1], ids[4]} <= active_ids and not {ids[2], ids[3], ids[5]} & active_ids


def test_as_pygeoapi(store):
    job_id = _new_id()
    store.add(job_id, "band-math", {"inputs": {}})
    record = store.get(job_id).as_pygeoapi()
    assert (
        record["type"] == "process"
        and record["identifier"] == job_id
        and record["status"] == "accepted"
    )
    assert (
        isinstance(record["created"], str)
        and datetime.fromisoformat(record["created"]).tzinfo is not None
    )
    assert record["finished"] is None and record["parameters"] == {"inputs": {}}


# --- Dask and orphans ------------------------------------------------------------------------------


def test_dask_client_without_an_address_is_in_process(services):
    assert services.settings.dask_address is None
    client = services.dask.client
    assert services.dask.client is client
    assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=30) == 6


def test_fail_orphans(store, services):
    jobs = {name: _new_id() for name in ("old_running", "old_accepted", "fresh_running", "old_successful",
                                         "old_dismissed", "old_failed")}  # fmt: skip
    for name, job_id in jobs.items():
        store.add(job_id, "band-math", {})
        store.update(job_id, status=name.split("_")[1])
    for name, job_id in jobs.items():
        if name.startswith("old"):
            _age(store, job_id, 3600)

    orphans = fail_orphans(services)

    assert {jobs["old_running"], jobs["old_accepted"]} <= set(orphans)
    assert not {
        jobs[n] for n in ("fresh_running", "old_successful", "old_dismissed", "old_failed")
    } & set(orphans)
    for name in ("old_running", "old_accepted"):
        job = store.get(jobs[name])
        assert job.status == "failed" and job.finished is not None
        assert job.message.startswith("orphaned") and name.split("_")[1] in job.message
    assert store.get(jobs["fresh_running"]).status == "running"
    for name in ("old_successful", "old_dismissed", "old_failed"):
        assert store.get(jobs[name]).status == name.split("_")[1]
        assert store.get(jobs[name]).finished is None
    # a second sweep finds nothing more of these
    assert not set(jobs.values()) & set(fail_orphans(services))


def _hold(event_name: str) -> str:
    Event(event_name).wait(timeout=30)
    return "released"


def test_a_job_whose_task_the_scheduler_holds_is_not_orphaned(store, services):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status="running")
    _age(store, job_id, 3600)
    client = services.dask.client
    name = f"hold-{job_id}"
    event = Event(name, client=client)
    future = client.submit(_hold, name, key=task_key(job_id), pure=False)
    try:
        assert job_id not in fail_orphans(services)
        assert store.get(job_id).status == "running"
    finally:
        event.set()
    assert future.result(timeout=30) == "released"


# --- run_job on the demo archive -------------------------------------------------------------------


def _plan(cube, inputs: dict) -> Plan:
    """A plan as a job receives it: checked against the index while the request was open."""
    return BandMath({"name": "band-math"}).prepare(inputs, cube)


def _archived_since(plan: BandMathPlan) -> BandMathPlan:
    """The plan of a request checked before its datasets left the archive."""
    return replace(plan, read=replace(plan.read, datasets=()))


def _reprojected_without_resolution(plan: BandMathPlan) -> BandMathPlan:
    """A plan that skipped the grid check (another CRS needs a resolution)."""
    return replace(plan, inputs=plan.inputs.model_copy(update={"crs": "EPSG:3857"}))


@pytest.fixture
def demo_settings(demo) -> Settings:
    cube, _ = demo
    return cube.settings


@pytest.mark.slow
def test_run_job_accepted_to_successful(demo, demo_settings, demo_services):
    cube, _ = demo
    store = demo_services.jobs
    job_id, inputs = _new_id(), {"expression": NDVI, "datetime": "2020"}
    store.add(job_id, "band-math", {"inputs": inputs})

    assert run_job(demo_services, job_id, BAND_MATH, _plan(cube, inputs)) == "successful"

    job = store.get(job_id)
    assert (job.status, job.progress, job.message, job.mimetype) == (
        "successful",
        100,
        "Job complete",
        "application/json",
    )
    assert job.started is not None and job.finished is not None and job.started <= job.finished
    result = job_dir(demo_settings, job_id) / "result.json"
    assert job.location == str(result)
    document = json.loads(result.read_text())
    assert document["collection"] == f"bandmath_{job_id.replace('-', '')[:8]}"
    assert document["time_slices"] == ["2020-07-01T00:00:00"]
    assert cube.dc.index.products.get_by_name(document["collection"]) is not None
    assert not (job_dir(demo_settings, job_id) / "work").exists()  # the work folder is cleaned up


@pytest.mark.slow
def test_run_job_dismissed_before_it_starts_does_nothing(demo, demo_settings, demo_services):
    cube, _ = demo
    store = demo_services.jobs
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status="dismissed", message="dismissed by the user")

    assert (
        run_job(demo_services, job_id, BAND_MATH, _plan(cube, {"expression": NDVI})) == "dismissed"
    )

    job = store.get(job_id)
    assert (job.status, job.message, job.started) == ("dismissed", "dismissed by the user", None)
    assert not job_dir(demo_settings, job_id).exists()
    assert cube.dc.index.products.get_by_name(f"bandmath_{job_id.replace('-', '')[:8]}") is None


@pytest.mark.slow
def test_run_job_dismissed_while_running_stops_at_its_next_progress(
    demo, demo_settings, demo_services, monkeypatch
):
    cube, _ = demo
    store = demo_services.jobs
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    load = executor.load_processor

    def dismiss_then_load(reference: str):
        store.update(job_id, status="dismissed")  # as DELETE /jobs/{id} does while the task runs
        return load(reference)

    monkeypatch.setattr(executor, "load_processor", dismiss_then_load)
    assert (
        run_job(
            demo_services,
            job_id,
            BAND_MATH,
            _plan(cube, {"expression": NDVI, "datetime": "2020"}),
        )
        == "dismissed"
    )
    assert store.get(job_id).status == "dismissed"
    assert not (job_dir(demo_settings, job_id) / "result.json").exists()
    assert not (job_dir(demo_settings, job_id) / "work").exists()
    assert cube.dc.index.products.get_by_name(f"bandmath_{job_id.replace('-', '')[:8]}") is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            _reprojected_without_resolution,
            "InvalidRequest: resolution is needed when loading 'sr_annual'",
        ),
        (_archived_since, "NoData: product 'sr_annual' has no datasets"),
    ],
)
def test_run_job_failures_say_why(demo, demo_settings, demo_services, damage, message):
    store = demo_services.jobs
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    plan = damage(_plan(demo[0], {"expression": NDVI, "datetime": "2020"}))
    assert run_job(demo_services, job_id, BAND_MATH, plan) == "failed"
    job = store.get(job_id)
    assert job.status == "failed" and job.message.startswith(message) and job.finished is not None
    assert not (job_dir(demo_settings, job_id) / "result.json").exists()


@pytest.mark.slow
def test_run_job_internal_errors_fail_the_job(demo, demo_settings, demo_services):
    cube, _ = demo
    store = demo_services.jobs
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    status = run_job(
        demo_services,
        job_id,
        "sdgcube.processes.band_math.NoSuchProcess",
        _plan(cube, {"expression": NDVI}),
    )
    assert status == "failed"
    assert store.get(job_id).message.startswith("internal error: AttributeError")


@pytest.mark.parametrize("status", ["successful", "failed", "dismissed"])
def test_run_job_leaves_a_finished_job_alone(store, services, status):
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status=status, message="as it ended", progress=100)
    before = store.get(job_id)
    # Never reaches the processor or the plan: the job is not claimed.
    assert run_job(services, job_id, BAND_MATH, None) == "dismissed"  # type: ignore[arg-type]
    assert store.get(job_id) == before
    assert not job_dir(services.settings, job_id).exists()


@pytest.mark.slow
def test_run_job_again_after_its_worker_died_runs_the_job_from_the_start(
    demo, demo_settings, demo_services, monkeypatch, caplog
):
    """Dask runs a job's task again when the worker running it dies: the job row is still
    ``running`` (at that attempt's progress), and the new attempt must take it over, not dismiss
    it — a dismissed re-run would leave the job ``running`` for ever."""
    cube, _ = demo
    store = demo_services.jobs
    job_id = _new_id()
    store.add(job_id, "band-math", {})
    store.update(job_id, status="running", progress=40, message="evaluating the expression",
                 started=datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    stale = job_dir(demo_settings, job_id) / "work" / "half-written.tif"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by the attempt on the dead worker")
    seen = []
    load = executor.load_processor

    def record_then_load(reference: str):
        seen.append((store.get(job_id), stale.exists()))
        return load(reference)

    monkeypatch.setattr(executor, "load_processor", record_then_load)
    caplog.set_level("INFO", logger="sdgcube.processes.executor")
    plan = _plan(cube, {"expression": NDVI, "datetime": "2020"})

    assert run_job(demo_services, job_id, BAND_MATH, plan) == "successful"

    ((restarted, stale_left),) = seen
    assert (restarted.status, restarted.progress, restarted.message) == (
        "running", 1, executor.RESTARTED,
    )  # fmt: skip
    assert restarted.started > datetime.now(UTC) - timedelta(minutes=5)
    assert not stale_left  # the new attempt starts in an empty work folder
    job = store.get(job_id)
    assert (job.status, job.progress, job.message) == ("successful", 100, "Job complete")
    document = json.loads((job_dir(demo_settings, job_id) / "result.json").read_text())
    assert cube.dc.index.products.get_by_name(document["collection"]) is not None
    assert f"job {job_id} ({BAND_MATH}) running on this process" in caplog.text
