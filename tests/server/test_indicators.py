"""An SDG indicator job through the HTTP API: raster as tiles, per-unit table as features and SDMX-CSV."""

from __future__ import annotations

import csv
import io

import httpx
import morecantile
import pytest

pytestmark = pytest.mark.slow

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def test_async_sdg_15_3_1_job_serves_tiles_features_and_sdmx(
    served_demo, server, http: httpx.Client
) -> None:
    _, cube, truth = served_demo
    response = http.post("/processes/sdg-15-3-1/execution", json={"inputs": {}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    progress: list[int] = []

    def finished() -> bool:
        status = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
        progress.append(status["progress"])
        assert status["status"] != "failed", status["message"]
        return status["status"] == "successful"

    server.wait_for(finished, timeout=300, what="the sdg-15-3-1 job")
    assert progress == sorted(progress)
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()

    product = result["collections"]["sdg"]
    minx, miny, maxx, maxy = cube.datasets("land_cover")[0].extent.to_crs("EPSG:4326").boundingbox
    tile = WEB_MERCATOR.tile((minx + maxx) / 2, (miny + maxy) / 2, 14)
    png = http.get(f"/tiles/collections/{product}/tiles/WebMercatorQuad/14/{tile.x}/{tile.y}.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    coverage = http.get(f"/collections/{product}/coverage", params={"f": "json"})
    assert coverage.status_code == 200
    values = [v for v in coverage.json()["ranges"]["sdg"]["values"] if v is not None]
    assert set(values) <= {-1.0, 0.0, 1.0} and -1.0 in values

    summary = result["summary"]
    rows = {row["unit_id"]: row for row in summary["rows"]}
    assert set(rows) == {"D1", "D2", "D3", "D4"}
    degraded_km2 = sum(row["degraded_km2"] for row in rows.values())
    planted = truth["rangeland_degradation"]["area_km2"] + truth["deforestation"]["area_km2"]
    assert degraded_km2 >= 0.95 * planted

    items = f"/collections/{summary['features_collection']}/items"
    features = http.get(items, params={"f": "json"}).json()  # published at once, like the rasters
    assert features["numberMatched"] == 4
    by_unit = {f["id"]: f["properties"] for f in features["features"]}
    assert by_unit["D1"]["degraded_pct"] == pytest.approx(rows["D1"]["degraded_pct"])
    assert features["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")

    sdmx = http.get(summary["sdmx_csv"].replace(server.url, ""))
    assert sdmx.status_code == 200 and sdmx.headers["content-type"].startswith("text/csv")
    observations = list(csv.DictReader(io.StringIO(sdmx.text)))
    assert {o["SERIES"] for o in observations} == {"AG_LND_DGRD"}
    assert {o["REF_AREA"]: float(o["OBS_VALUE"]) for o in observations}["D1"] == pytest.approx(
        rows["D1"]["degraded_pct"]
    )
