"""pygeoapi at / over the demo cube: landing, collections, coverages, EDR, features, records, errors."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import httpx
import numpy as np
import pytest
import rasterio
import xarray as xr
from owslib.ogcapi.coverages import Coverages
from owslib.ogcapi.features import Features

from tests.openapi_checks import assert_self_contained

pytestmark = pytest.mark.slow


def _demo_bbox(cube, shrink: float = 0.3) -> list[float]:
    """A WGS 84 box inside the demo scene, ``shrink`` of its width cut from each side."""
    minx, miny, maxx, maxy = cube.datasets("sr_annual")[0].extent.to_crs("EPSG:4326").boundingbox
    dx, dy = (maxx - minx) * shrink, (maxy - miny) * shrink
    return [minx + dx, miny + dy, maxx - dx, maxy - dy]


def test_landing_conformance_and_collections(http: httpx.Client) -> None:
    landing = http.get("/", params={"f": "json"}).json()
    assert {link["rel"] for link in landing["links"]} >= {"service-desc", "conformance", "data"}
    conforms = http.get("/conformance", params={"f": "json"}).json()["conformsTo"]
    assert any("ogcapi-coverages-1" in c for c in conforms)
    assert any("ogcapi-processes-1" in c for c in conforms)
    assert any("ogcapi-edr-1" in c for c in conforms)
    collections = {
        c["id"]: c for c in http.get("/collections", params={"f": "json"}).json()["collections"]
    }
    assert {"sr_annual", "land_cover", "surface_water", "population", "admin_units"} <= set(
        collections
    )
    sr = http.get("/collections/sr_annual", params={"f": "json"}).json()
    assert sr["extent"]["temporal"]["interval"][0][0].startswith("2000-07-01")
    assert sr["extent"]["temporal"]["interval"][0][1].startswith("2024-07-01")
    assert sr["extent"]["spatial"]["grid"][0]["cellsCount"] == 200
    assert any(
        link["href"].endswith("/tiles/WebMercatorQuad/{z}/{x}/{y}.png") for link in sr["links"]
    )
    assert (
        http.get("/", headers={"accept": "text/html"})
        .headers["content-type"]
        .startswith("text/html")
    )
    assert http.get("/openapi", params={"f": "json"}).json()["paths"][
        "/collections/sr_annual/coverage"
    ]


def test_coverage_geotiff_equals_cube_load(served_demo, http: httpx.Client) -> None:
    _, cube, _ = served_demo
    bbox = _demo_bbox(cube)
    response = http.get(
        "/collections/sr_annual/coverage",
        params={
            "f": "GTiff",
            "bbox": ",".join(map(str, bbox)),
            "datetime": "2015",
            "properties": "red,nir08",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/tiff")
    expected = cube.load(
        "sr_annual", bbox=bbox, time="2015", measurements=["red", "nir08"], chunks=None
    )
    with rasterio.MemoryFile(response.content) as mem, mem.open() as src:
        assert src.count == 2
        assert src.descriptions == ("red", "nir08")
        assert src.crs.to_epsg() == 32760
        assert (src.height, src.width) == expected.red.shape[1:]
        assert src.transform.almost_equals(expected.odc.geobox.affine)
        np.testing.assert_array_equal(src.read(1), expected.red.values[0])
        np.testing.assert_array_equal(src.read(2), expected.nir08.values[0])


def test_coverage_json_and_netcdf(served_demo, http: httpx.Client) -> None:
    _, cube, _ = served_demo
    bbox = ",".join(map(str, _demo_bbox(cube, 0.45)))
    cov = http.get(
        "/collections/land_cover/coverage",
        params={"f": "json", "bbox": bbox, "datetime": "2000/2020"},
    )
    assert cov.status_code == 200, cov.text
    body = cov.json()
    assert body["domain"]["domainType"] == "Grid"
    times = body["domain"]["axes"]["t"]["values"]
    assert len(times) == 21 and times[0].startswith("2000")
    nt, ny, nx = body["ranges"]["land_cover"]["shape"]
    assert nt == 21 and ny * nx > 0 and len(body["ranges"]["land_cover"]["values"]) == nt * ny * nx
    assert {v for v in body["ranges"]["land_cover"]["values"] if v is not None} <= set(range(1, 8))
    nc = http.get(
        "/collections/population/coverage", params={"f": "NetCDF", "bbox": bbox, "datetime": "2020"}
    )
    assert nc.status_code == 200, nc.text
    data = xr.open_dataset(io.BytesIO(nc.content), engine="scipy")
    expected = cube.load("population", bbox=_demo_bbox(cube, 0.45), time="2020", chunks=None)
    np.testing.assert_allclose(data.population.values, expected.population.values)


def test_coverage_scale_size_and_owslib(served_demo, server) -> None:
    client = Coverages(server.url, headers={"Accept": "image/tiff; application=geotiff"})
    assert "sr_annual" in client.coverages()
    data = client.coverage("sr_annual", properties=["red"], scale_size={"x": 50, "y": 40})
    with rasterio.MemoryFile(data.read()) as mem, mem.open() as src:
        assert (src.width, src.height) == (50, 40)
        assert np.isfinite(src.read(1).astype(float)).all()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "10,10,5,5"}, "min < max"),
        ({"bbox": "0,0,1,1"}, "does not intersect"),
        ({"datetime": "1990"}, "matches no time slice"),
        ({"datetime": "not-a-date"}, "datetime"),
        ({"bbox-crs": "EPSG:999999", "bbox": "0,0,1,1"}, "bbox-crs"),
        ({"properties": "nope"}, "nope"),
        ({"f": "png"}, "not offered"),
        ({"scale-size": "x(10)"}, "both axes"),
    ],
)
def test_bad_coverage_requests_are_400(http: httpx.Client, params: dict, fragment: str) -> None:
    response = http.get("/collections/sr_annual/coverage", params=params)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["description"]


def test_unknown_collection_is_404(http: httpx.Client) -> None:
    assert http.get("/collections/nope/coverage").status_code == 404
    assert http.get("/collections/nope", params={"f": "json"}).status_code == 404


def test_pixel_limit_says_the_limit(http: httpx.Client) -> None:
    response = http.get(
        "/collections/sr_annual/coverage", params={"datetime": "2000/2024", "f": "json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "LimitExceeded"
    assert "limit of" in body["description"]


def test_edr_position_and_area(served_demo, http: httpx.Client) -> None:
    _, cube, _ = served_demo
    minx, miny, maxx, maxy = _demo_bbox(cube, 0.4)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    point = http.get("/collections/population/position", params={"coords": f"POINT({cx} {cy})"})
    assert point.status_code == 200, point.text
    series = point.json()["ranges"]["population"]["values"]
    assert len(series) == len(cube.datasets("population"))
    polygon = f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))"
    area = http.get("/collections/sr_annual/area", params={"coords": polygon, "parameter-name": "nir08",
                                                           "datetime": "2010/2012"})  # fmt: skip
    assert area.status_code == 200, area.text
    values = area.json()["ranges"]["nir08"]["values"]
    expected = cube.load("sr_annual", bbox=[minx, miny, maxx, maxy], time=("2010", "2012"), measurements=["nir08"],
                         mask_nodata=True, chunks=None).nir08  # fmt: skip
    assert len(values) == 3
    np.testing.assert_allclose(values, expected.mean(dim=["y", "x"]).values, rtol=0.02)


def test_features_admin_units_paging(server) -> None:
    client = Features(server.url)
    first = client.collection_items("admin_units", limit=1)
    assert first["numberMatched"] >= 2 and len(first["features"]) == 1
    assert any(link["rel"] == "next" for link in first["links"])
    everything = client.collection_items("admin_units", limit=100)
    assert len(everything["features"]) == first["numberMatched"]


def test_stac_catalog(http: httpx.Client) -> None:
    root = http.get("/stac", params={"f": "json"})
    assert root.status_code == 200
    assert any("archive" in link["href"] for link in root.json()["links"])
    assert http.get("/stac/archive/sr_annual", params={"f": "json"}).json()["type"] == "Catalog"


@pytest.mark.parametrize(
    "path", ["/stac/archive/..%2F..%2F..%2F..%2Fetc", "/stac/archive/%2e%2e/%2e%2e/etc/passwd"]
)
def test_stac_paths_cannot_climb_out_of_the_archive(http: httpx.Client, path: str) -> None:
    response = http.get(path, params={"f": "json"})
    assert response.status_code == 404 and "root:" not in response.text


def test_coverage_html_page(served_demo, http: httpx.Client) -> None:
    _, cube, _ = served_demo
    bbox = ",".join(map(str, _demo_bbox(cube, 0.45)))
    page = http.get("/collections/sr_annual/coverage", params={"f": "html", "bbox": bbox})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_gdal_ogcapi_driver_reads_a_collection(served_demo, server, tmp_path) -> None:
    # rasterio's wheel is built without GDAL's OGCAPI driver, so this uses Debian's GDAL.
    if shutil.which("gdal_translate") is None:
        if os.environ.get("SDGCUBE_REQUIRE_GDAL"):
            pytest.fail("SDGCUBE_REQUIRE_GDAL is set but gdal_translate is not installed")
        pytest.skip("GDAL command-line tools (Debian gdal-bin) not installed")
    out = tmp_path / "lc.tif"
    result = subprocess.run(
        ["gdal_translate", "-q", "--config", "GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "cache"), "-oo", "API=COVERAGE", f"OGCAPI:{server.url}/collections/land_cover", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with rasterio.open(out) as src:
        values = src.read(1)
    assert set(np.unique(values)) <= set(range(8)) and (values > 0).mean() > 0.5


def test_every_link_of_the_stac_browser_answers(http: httpx.Client, server) -> None:
    """The browser's own links to items (``…/<id>/item``, the file without ``.json``) answered 500
    for every product; so did raw ``.json`` links and missing entries."""
    todo, seen, failures = [f"{server.url}/stac?f=json"], set(), []
    while todo and len(seen) < 600:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = http.get(url)
        if response.status_code != 200:
            failures.append((response.status_code, url))
            continue
        if "json" not in response.headers.get("content-type", ""):
            continue
        document = response.json()
        todo += [link["href"] for link in document.get("links", [])
                 if link["href"].startswith(f"{server.url}/stac/")]  # fmt: skip
    assert len(seen) > 100 and any(url.endswith("/item") for url in seen)
    assert failures == []
    missing = http.get("/stac/archive/sr_annual/2020/no-such-dataset")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"


@pytest.mark.parametrize("bbox", ["a,b", "1,2,3", "3,0,1,1"])
def test_the_coverage_html_page_refuses_a_bad_bbox(http: httpx.Client, bbox: str) -> None:
    """pygeoapi's page parses the bbox itself and answered 500."""
    page = http.get("/collections/sr_annual/coverage", params={"f": "html", "bbox": bbox})
    assert page.status_code == 400 and page.json()["code"] == "InvalidParameterValue"


def test_the_served_openapi_document_is_self_contained(http: httpx.Client) -> None:
    document = http.get("/openapi", params={"f": "json"}).json()
    assert_self_contained(document)
    # Features, coverages, EDR and processes: each brings its own OGC building blocks.
    assert {"/collections/admin_units/items", "/collections/sr_annual/coverage",
            "/collections/sr_annual/position", "/processes/band-math/execution"} <= set(document["paths"])  # fmt: skip
