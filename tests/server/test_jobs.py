"""OGC API Processes: band-math as sync and async jobs, progress, results, listing, dismissal, restart."""

from __future__ import annotations

import io

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from owslib.ogcapi.processes import Processes
from owslib.wms import WebMapService

pytestmark = pytest.mark.slow

NDVI = "(nir08 - red) / (nir08 + red)"
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def _wait_final(http: httpx.Client, server, job_id: str) -> dict:
    status: dict = {}

    def finished() -> bool:
        status.update(http.get(f"/jobs/{job_id}", params={"f": "json"}).json())
        return status["status"] in ("successful", "failed", "dismissed")

    server.wait_for(finished, what=f"job {job_id}")
    return status


def test_process_description_comes_from_the_input_model(server) -> None:
    description = Processes(server.url).process("band-math")
    assert description["inputs"]["expression"]["minOccurs"] == 1
    assert description["inputs"]["reducer"]["schema"]["enum"] == [
        "mean",
        "median",
        "min",
        "max",
        "last",
    ]
    assert "async-execute" in description["jobControlOptions"]


def test_sync_band_math_through_owslib(served_demo, server) -> None:
    _, cube, _ = served_demo
    result = Processes(server.url).execute("band-math", {"expression": NDVI, "datetime": "2020"})
    product = result["collection"]
    ndvi = cube.load(product, chunks=None).value.values[0]
    bands = cube.load("sr_annual", time="2020", measurements=["red", "nir08"], mask_nodata=True,
                      mask_clouds=True, chunks=None)  # fmt: skip
    red, nir = (
        bands.red.values[0].astype("float32") / 1e4,
        bands.nir08.values[0].astype("float32") / 1e4,
    )
    np.testing.assert_allclose(ndvi, (nir - red) / (nir + red), rtol=1e-5, atol=1e-6)


def test_async_band_math_job_end_to_end(served_demo, server, http: httpx.Client) -> None:
    _, cube, _ = served_demo
    response = http.post(
        "/processes/band-math/execution",
        json={"inputs": {"expression": NDVI, "datetime": "2010/2012", "reducer": "median"}},
        headers={"Prefer": "respond-async, wait=10"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    job_id = response.json()["jobID"]
    assert response.headers["Location"].endswith(f"/jobs/{job_id}")
    status = _wait_final(http, server, job_id)
    assert status["status"] == "successful", status
    assert status["progress"] == 100
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    product = result["collection"]
    assert len(result["time_slices"]) == 3

    # Served the moment the job reports success, not after the next refresh.
    assert http.get(f"/collections/{product}", params={"f": "json"}).status_code == 200
    listed = {c["id"] for c in http.get("/collections", params={"f": "json"}).json()["collections"]}
    assert product in listed
    minx, miny, maxx, maxy = cube.datasets(product)[0].extent.to_crs("EPSG:4326").boundingbox
    xyz = WEB_MERCATOR.tile((minx + maxx) / 2, (miny + maxy) / 2, 14)
    tile = http.get(
        f"/tiles/collections/{product}/tiles/WebMercatorQuad/14/{xyz.x}/{xyz.y}.npy?bands=value"
    )
    assert tile.status_code == 200, tile.text
    pixels = np.load(io.BytesIO(tile.content))
    ndvi, valid = pixels[0], pixels[-1] > 0  # the raw NDVI; the last band is the mask
    assert valid.mean() > 0.5 and np.isfinite(ndvi[valid]).all()
    assert ndvi[valid].min() >= -1 and ndvi[valid].max() <= 1 and ndvi[valid].std() > 0
    tilejson = http.get(f"/tiles/collections/{product}/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tiles"]
    wms = WebMapService(f"{server.url}/mapproxy/service", version="1.3.0")
    assert product in wms.contents
    coverage = http.get(f"/collections/{product}/coverage", params={"f": "GTiff"})
    with rasterio.MemoryFile(coverage.content) as mem, mem.open() as src:
        values = src.read(1)
    assert np.nanmin(values) >= -1 and np.nanmax(values) <= 1 and np.isfinite(values).mean() > 0.5

    listed = http.get(
        "/jobs", params={"status": "successful", "processID": "band-math", "f": "json"}
    ).json()
    assert job_id in [job["jobID"] for job in listed["jobs"]]
    assert all(job["status"] == "successful" for job in listed["jobs"])
    failed = http.get("/jobs", params={"status": "failed", "f": "json"}).json()["jobs"]
    assert job_id not in [job["jobID"] for job in failed]

    server.stop()
    server.start()
    after = http.get(f"/jobs/{job_id}", params={"f": "json"})
    assert after.status_code == 200 and after.json()["status"] == "successful"
    assert http.get(f"/collections/{product}", params={"f": "json"}).status_code == 200


def test_job_list_paging(server, http: httpx.Client) -> None:
    for _ in range(2):
        http.post("/processes/band-math/execution", json={"inputs": {"expression": "red", "datetime": "2001"}},
                  headers={"Prefer": "respond-async"})  # fmt: skip
    page = http.get("/jobs", params={"limit": 1, "f": "json"}).json()
    assert page["numberReturned"] == 1 and page["numberMatched"] >= 2
    assert any(link["rel"] == "next" for link in page["links"])
    assert http.get("/jobs", params={"status": "bogus", "f": "json"}).status_code == 400


def test_dismissal(server, http: httpx.Client) -> None:
    response = http.post("/processes/band-math/execution", json={"inputs": {"expression": "red", "datetime": "2003"}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    job_id = response.json()["jobID"]
    dismissed = http.delete(f"/jobs/{job_id}")
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert http.get(f"/jobs/{job_id}", params={"f": "json"}).json()["status"] == "dismissed"
    assert http.delete("/jobs/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"expression": "__import__('os')"}, "may call only"),
        ({"expression": "nir08 +"}, "not valid"),
        ({"expression": "red", "product": "nope"}, "unknown product"),
        ({"expression": "red", "datetime": "1990"}, "no datasets"),
        ({"expression": "red", "bbox": [0, 0, 1]}, "bbox"),
        ({"expression": "red", "colour": "blue"}, "colour"),
        ({"expression": "red", "bbox": [-60, -60, 60, 60]}, "limit of"),
        ({"expression": "red", "resolution": 0.001}, "values, more than this server's limit"),
        ({"expression": "red", "crs": "EPSG:999999"}, "EPSG:999999"),
    ],
)
def test_bad_inputs_are_refused_before_a_job_exists(
    http: httpx.Client, inputs: dict, fragment: str
) -> None:
    before = http.get("/jobs", params={"f": "json"}).json()["numberMatched"]
    response = http.post(
        "/processes/band-math/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 400, response.text
    assert fragment in response.json()["description"]
    assert http.get("/jobs", params={"f": "json"}).json()["numberMatched"] == before


def test_a_job_orphaned_by_a_crash_fails_with_the_reason_after_restart(
    served_demo, http: httpx.Client
) -> None:
    import uuid

    import sqlalchemy as sa

    from sdgcube.processes.jobs import JobStore, jobs_table

    server, cube, _ = served_demo
    store = JobStore(cube.engine)
    job_id = str(uuid.uuid4())
    store.add(job_id, "band-math", {"expression": "red"})
    store.update(job_id, status="running", message="computing", progress=40)
    with store.engine.begin() as conn:  # as if its server had died an hour ago
        conn.execute(jobs_table.update().where(jobs_table.c.identifier == job_id)
                     .values(updated=sa.func.now() - sa.text("interval '1 hour'")))  # fmt: skip
    server.stop()
    server.start()
    status = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
    assert status["status"] == "failed"
    assert "orphaned" in status["message"]
