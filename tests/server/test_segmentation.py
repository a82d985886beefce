"""building-segmentation through the HTTP API: mask tiles, footprints as features, GeoJSON and
GeoParquet, and the shipped model as a STAC item of the archive's catalog."""

from __future__ import annotations

import io

import geopandas as gpd
import httpx
import morecantile
import pytest

pytestmark = pytest.mark.slow

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def test_a_segmentation_job_serves_mask_tiles_and_footprints(
    served_demo, server, http: httpx.Client
) -> None:
    _, cube, truth = served_demo
    assert "building-segmentation" in {p["id"] for p in http.get("/processes", params={"f": "json"}).json()["processes"]}  # fmt: skip
    response = http.post("/processes/building-segmentation/execution", json={"inputs": {"units_layer": None}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    messages: list[str] = []

    def finished() -> bool:
        status = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
        messages.append(status.get("message", ""))
        assert status["status"] != "failed", status["message"]
        return status["status"] == "successful"

    server.wait_for(finished, timeout=300, what="the building-segmentation job")
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    planted = sum(c["buildings"] for c in truth["chips"])
    assert result["total"]["building_count"] == pytest.approx(planted, rel=0.10)

    mask = result["collections"]["mask"]
    minx, miny, maxx, maxy = cube.datasets("hires_rgb")[0].extent.to_crs("EPSG:4326").boundingbox
    tile = WEB_MERCATOR.tile((minx + maxx) / 2, (miny + maxy) / 2, 18)
    png = http.get(f"/tiles/collections/{mask}/tiles/WebMercatorQuad/18/{tile.x}/{tile.y}.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"

    footprints = result["footprints"]
    items = http.get(
        f"/collections/{footprints['features_collection']}/items",
        params={"f": "json", "limit": 1000},
    )
    assert (
        items.status_code == 200
        and items.json()["numberMatched"] == result["total"]["building_count"]
    )
    first = items.json()["features"][0]
    assert first["geometry"]["type"] == "Polygon" and first["properties"]["area_m2"] > 0
    parquet = http.get(footprints["geoparquet"].replace(server.url, ""))
    assert parquet.status_code == 200
    frame = gpd.read_parquet(io.BytesIO(parquet.content))
    assert len(frame) == result["total"]["building_count"] and frame.crs.to_epsg() == 32760
    assert frame["area_m2"].sum() == pytest.approx(result["total"]["footprint_area_m2"], abs=0.01)
    geojson = http.get(footprints["geojson"].replace(server.url, ""))
    assert geojson.status_code == 200 and len(geojson.json()["features"]) == len(frame)


def test_the_shipped_model_is_in_the_stac_catalog(server, http: httpx.Client) -> None:
    def published() -> bool:
        return (
            http.get(
                "/stac/archive/models/buildings-demo/item.json", params={"f": "json"}
            ).status_code
            == 200
        )

    server.wait_for(published, timeout=60, what="the shipped model's STAC item")
    item = http.get("/stac/archive/models/buildings-demo/item.json", params={"f": "json"}).json()
    properties = item.get("properties", item)
    assert properties["mlm:tasks"] == ["semantic-segmentation"]
    assert properties["mlm:input"][0]["bands"] == ["red", "green", "blue"]
