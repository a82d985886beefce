"""The job manager's answers for synchronous jobs: refused inputs are 400, a failed run is 500."""

from __future__ import annotations

import pytest
from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.util import RequestedProcessExecutionMode

from sdgcube.processes.band_math import BandMath
from sdgcube.processes.base import Plan
from sdgcube.processes.context import JobContext
from sdgcube.processes.manager import CubeJobManager
from sdgcube.processes.services import Services

NDVI = "(nir08 - red) / (nir08 + red)"
SYNC = RequestedProcessExecutionMode.wait


class CrashingBandMath(BandMath):
    """Band-math whose run fails as a bug would, after its inputs were accepted."""

    def run_plan(self, plan: Plan, ctx: JobContext):
        raise ZeroDivisionError("a bug")


def _manager(services: Services, processor: type) -> CubeJobManager:
    return CubeJobManager({
        "name": "sdgcube.processes.manager.CubeJobManager", "services": services,
        "output_dir": str(services.settings.data_dir / "jobs"),
        "processes": {"band-math": {"processor": {
            "name": f"{processor.__module__}.{processor.__qualname__}", "services": services}}},
    })  # fmt: skip


@pytest.mark.slow
def test_a_sync_job_failing_as_it_runs_is_a_500_naming_the_job(demo, demo_services) -> None:
    manager = _manager(demo_services, CrashingBandMath)
    with pytest.raises(ProcessorExecuteError) as raised:
        manager.execute_process("band-math", {"expression": NDVI, "datetime": "2020"}, SYNC)
    assert raised.value.http_status_code == 500
    assert raised.value.ogc_exception_code == "ProcessFailed"
    job_id = raised.value.message.removeprefix("job ").split(" ", 1)[0]
    record = demo_services.jobs.get(job_id)
    assert record is not None and record.status == "failed"
    assert "ZeroDivisionError: a bug" in raised.value.message


@pytest.mark.slow
def test_refused_inputs_of_a_sync_job_are_a_400_before_any_job(demo, demo_services) -> None:
    manager = _manager(demo_services, BandMath)
    before = demo_services.jobs.list()[1]
    with pytest.raises(ProcessorExecuteError) as raised:
        manager.execute_process("band-math", {"expression": "nope - red"}, SYNC)
    assert raised.value.http_status_code == 400
    assert demo_services.jobs.list()[1] == before
