"""A coverage request reads the grid its limit was checked on, and odd bboxes are client errors."""

from __future__ import annotations

import io

import pytest
import rasterio
from starlette.testclient import TestClient

from sdgcube.app.coverage_query import parse_coverage_query
from sdgcube.app.server import create_app
from sdgcube.settings import Limits, Settings

pytestmark = pytest.mark.slow


def _native_shape(cube, product: str) -> tuple[int, int]:
    grid = cube.load(product, time="2005", chunks=None).odc.geobox
    return grid.shape.y, grid.shape.x


@pytest.fixture(scope="module")
def served(demo):
    cube, _ = demo
    height, width = _native_shape(cube, "land_cover")
    # Room for the product's whole grid, once, and not for a box five times as wide and high.
    limits = Limits(max_pixels=int(width * height * 1.5))
    settings = Settings(data_dir=cube.settings.data_dir, db_url=cube.settings.db_url,
                        limits=limits, watch_interval_s=3600)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client, (height, width)


def test_a_bbox_past_the_data_reads_only_the_data(served, demo):
    """Checked on the bbox clipped to the data, the read once used the full bbox: 185 M values
    against a 25 M limit."""
    client, (height, width) = served
    cube, _ = demo
    minx, miny, maxx, maxy = cube.datasets("land_cover")[0].extent.to_crs("EPSG:4326").boundingbox
    dx, dy = (maxx - minx) * 2, (maxy - miny) * 2
    bbox = f"{minx - dx},{miny - dy},{maxx + dx},{maxy + dy}"
    response = client.get("/collections/land_cover/coverage",
                          params={"bbox": bbox, "datetime": "2005", "f": "GTiff"})  # fmt: skip
    assert response.status_code == 200, response.text
    with rasterio.open(io.BytesIO(response.content)) as tif:
        assert abs(tif.height - height) <= 2 and abs(tif.width - width) <= 2


@pytest.mark.parametrize("bbox", ["170,-100,180,100", "-180,-90,180,90", "177,-95,179,-10"])
def test_bboxes_reaching_past_the_poles_are_not_server_errors(served, bbox):
    client, _ = served
    response = client.get(
        "/collections/land_cover/coverage", params={"bbox": bbox, "datetime": "2005", "f": "json"}
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["code"] in ("LimitExceeded", "InvalidParameterValue")


def test_latitudes_past_the_poles_are_clipped() -> None:
    query = parse_coverage_query({"bbox": "170,-100,180,100"})
    assert query.bbox == (170.0, -90.0, 180.0, 90.0)
