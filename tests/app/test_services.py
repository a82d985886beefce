"""``create_app(Settings(...))``: the settings given in code reach every endpoint, and collections a
job (or anyone) registers are published the moment they exist — no environment, no restart."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from affine import Affine
from starlette.testclient import TestClient

from sdgcube.app.server import create_app
from sdgcube.datacube.ingest import ingest_file
from sdgcube.settings import Limits, Settings

pytestmark = pytest.mark.slow

MAX_PIXELS = 900
"""Fewer values than any whole-demo request reads."""


@pytest.fixture(scope="module")
def limited(demo):
    """The demo served in this process with tiny limits given in code, not in the environment; the
    watcher never ticks during the tests, so whatever is published was published by a request."""
    cube, _ = demo
    limits = Limits(max_pixels=MAX_PIXELS, max_job_area_km2=1.0)
    settings = Settings(
        data_dir=cube.settings.data_dir,
        db_url=cube.settings.db_url,
        limits=limits,
        watch_interval_s=3600,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _lon_lat_box(cube, shrink: float) -> list[float]:
    minx, miny, maxx, maxy = cube.datasets("sr_annual")[0].extent.to_crs("EPSG:4326").boundingbox
    dx, dy = (maxx - minx) * shrink, (maxy - miny) * shrink
    return [minx + dx, miny + dy, maxx - dx, maxy - dy]


def test_coverage_refuses_past_the_limit_given_in_code(limited, demo):
    response = limited.get("/collections/land_cover/coverage", params={"f": "json"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "LimitExceeded" and f"limit of {MAX_PIXELS:,}" in body["description"]


def test_edr_area_refuses_past_the_limit_given_in_code(limited, demo):
    cube, _ = demo
    minx, miny, maxx, maxy = _lon_lat_box(cube, 0.1)
    polygon = f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))"
    response = limited.get("/collections/land_cover/area", params={"coords": polygon, "f": "json"})
    assert response.status_code == 400, response.text
    assert f"limit of {MAX_PIXELS:,}" in response.json()["description"]


def test_tiles_refuse_past_the_limit_given_in_code(limited, demo):
    cube, _ = demo
    bbox = ",".join(str(v) for v in _lon_lat_box(cube, 0.0))
    small = limited.get(f"/tiles/collections/land_cover/bbox/{bbox}/20x20.png")
    assert small.status_code == 200, small.text  # 400 pixels of one band: within the limit
    for size in ("/40x40", ""):  # 1 600 pixels, and the native 200 × 200
        response = limited.get(f"/tiles/collections/land_cover/bbox/{bbox}{size}.png")
        assert response.status_code == 400, response.text
        body = response.json()
        assert (
            body["code"] == "LimitExceeded"
            and f"limit of {MAX_PIXELS} pixels" in body["description"]
        )


def test_jobs_refuse_past_the_area_limit_given_in_code(limited, demo):
    cube, _ = demo
    before = limited.get("/jobs", params={"f": "json"}).json()["numberMatched"]
    response = limited.post(
        "/processes/band-math/execution",
        json={"inputs": {"expression": "red", "bbox": _lon_lat_box(cube, 0.1)}},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 400, response.text
    assert (
        response.json()["code"] == "LimitExceeded"
        and "limit of 1" in response.json()["description"]
    )
    assert limited.get("/jobs", params={"f": "json"}).json()["numberMatched"] == before


def test_a_product_registered_after_start_is_served_at_once(limited, demo, make_raster):
    """No watcher tick in between: the request itself publishes the new collection, and only it."""
    cube, _ = demo
    publisher = limited.app.state.publisher
    before = dict(publisher.summaries)
    path = make_raster(np.arange(16, dtype="uint8").reshape(4, 4), crs="EPSG:3857",
                       transform=Affine(30, 0, 19_800_000, 0, -30, -1_990_000), nodata=0)  # fmt: skip
    ingest_file(
        cube.dc, cube.settings.archive_dir, path, product="late_arrival", when=datetime(2021, 3, 1)
    )

    collection = limited.get("/collections/late_arrival", params={"f": "json"})
    assert collection.status_code == 200, collection.text
    assert collection.json()["extent"]["temporal"]["interval"][0][0].startswith("2021-03-01")
    listed = {
        c["id"] for c in limited.get("/collections", params={"f": "json"}).json()["collections"]
    }
    assert "late_arrival" in listed
    domain = limited.get("/collections/late_arrival/coverage/domainset").json()
    assert domain["generalGrid"]["gridLimits"]["axis"][0]["upperBound"] == 3
    # every other product kept its summary: nothing but the new collection was rebuilt
    assert all(publisher.summaries[name] is summary for name, summary in before.items())
