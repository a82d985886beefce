"""Real finished jobs on the small demo cube, run as the server runs them (a job row, `run_job`),
and their reports built once per session."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sdgcube.processes.executor import load_processor, run_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.services import Services

INPUTS_15_3_1 = {"reporting_period": {"years": [2016, 2020], "soc_baseline_year": 2000}}


def finished_job(services: Services, process_id: str, inputs: dict[str, Any]) -> str:
    plan = load_processor(PROCESSES[process_id]).prepare(inputs, services.cube)
    job_id = str(uuid.uuid4())
    services.jobs.add(job_id, process_id, plan.inputs.model_dump(mode="json"))
    assert run_job(services, job_id, PROCESSES[process_id], plan) == "successful"
    return job_id


@pytest.fixture(scope="session")
def report_services(demo) -> Services:
    cube, _ = demo
    return Services.of(cube)


@pytest.fixture(scope="session")
def job_15_3_1(report_services) -> str:
    return finished_job(report_services, "sdg-15-3-1", INPUTS_15_3_1)


@pytest.fixture(scope="session")
def job_15_1_1(report_services) -> str:
    return finished_job(report_services, "sdg-15-1-1", {})


def _built(services: Services, job_id: str) -> Any:
    from sdgcube.auth.identity import OPEN_CALLER
    from sdgcube.reports import build_report, job_for_report

    record, document = job_for_report(services, job_id, OPEN_CALLER)
    return build_report(services, record, document), document


@pytest.fixture(scope="session")
def report_15_3_1(report_services, job_15_3_1) -> tuple[Any, dict[str, Any]]:
    """The 15.3.1 report and the job's result document."""
    return _built(report_services, job_15_3_1)


@pytest.fixture(scope="session")
def report_15_1_1(report_services, job_15_1_1) -> tuple[Any, dict[str, Any]]:
    return _built(report_services, job_15_1_1)


@pytest.fixture(scope="session")
def pdf_15_3_1(report_15_3_1) -> bytes:
    from sdgcube.reports import render

    return render(report_15_3_1[0], "pdf")
