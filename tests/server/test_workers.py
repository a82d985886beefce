"""The server with several uvicorn workers: jobs, results and new collections are the same in all."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_two_workers_share_jobs_and_collections(server, http: httpx.Client) -> None:
    server.stop()
    server.start(workers=2)
    try:
        response = http.post("/processes/band-math/execution",
                             json={"inputs": {"expression": "nir08 - swir22", "datetime": "2016"}},
                             headers={"Prefer": "respond-async"})  # fmt: skip
        assert response.status_code == 201, response.text
        job_id = response.json()["jobID"]
        # Each request may land on either worker: every one must know the job.
        seen = []

        def finished() -> bool:
            with httpx.Client(base_url=server.url, timeout=60) as fresh:
                status = fresh.get(f"/jobs/{job_id}", params={"f": "json"})
            assert status.status_code == 200
            seen.append(status.json()["status"])
            return seen[-1] == "successful"

        server.wait_for(finished, what=f"job {job_id} on two workers")
        product = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()["collection"]

        codes = set()  # at once, on whichever worker answers
        for _ in range(8):
            with httpx.Client(base_url=server.url, timeout=60) as fresh:
                codes.add(fresh.get(f"/collections/{product}", params={"f": "json"}).status_code)
        assert codes == {200}
    finally:
        server.stop()
        server.start()
