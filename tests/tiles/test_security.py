"""No route reads anything but registered assets: no ``url`` parameter, no path tricks."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

from tests.tiles.helpers import centre, tile_at

pytestmark = pytest.mark.slow

_TARGETS = [
    "/etc/passwd",
    "file:///etc/passwd",
    "http://127.0.0.1:9/secret.tif",
    "/vsicurl/http://127.0.0.1:9/x.tif",
]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path rasterio opens during the test."""
    paths: list[str] = []
    real_open = rasterio.open

    def recording_open(fp, *args, **kwargs):
        paths.append(str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", recording_open)
    return paths


def test_no_route_takes_a_url_or_path_parameter(client):
    spec = client.get("/api").json()
    names = {
        parameter["name"].lower()
        for operation in (op for path in spec["paths"].values() for op in path.values())
        for parameter in operation.get("parameters", [])
    }
    assert names and not names & {"url", "path", "src_path", "file", "href"}


@pytest.mark.parametrize("target", _TARGETS)
def test_url_parameter_is_ignored(client, demo, opened, target):
    cube, _ = demo
    tile = f"/collections/land_cover/tiles/WebMercatorQuad/{tile_at(*centre(cube, 'land_cover'), 13)}.png"
    plain = client.get(tile)
    for url in (f"{tile}?url={target}", f"/collections/land_cover/info?url={target}",
                f"/collections/land_cover/statistics?url={target}"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200
        assert "root:" not in response.text
    assert client.get(f"{tile}?url={target}").content == plain.content
    data_dir = str(cube.settings.data_dir)
    assert opened and all(path.startswith(data_dir) for path in opened)


@pytest.mark.parametrize(
    "collection",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "..",
        "file:%2F%2F%2Fetc%2Fpasswd",
        "http:%2F%2F127.0.0.1%2Fsecret.tif",
        "%2Fvsicurl%2Fhttp:%2F%2F127.0.0.1%2Fx",
        "land_cover%2F..%2F..%2Fetc",
    ],
)
@pytest.mark.parametrize(
    "route", ["info", "tiles/WebMercatorQuad/0/0/0.png", "WebMercatorQuad/tilejson.json"]
)
def test_path_tricks_find_nothing(client, opened, collection, route):
    response = client.get(f"/collections/{collection}/{route}")
    assert response.status_code == 404
    assert "root:" not in response.text
    assert opened == []


def test_path_tricks_in_the_route_itself_find_nothing(client, opened):
    for url in ("/collections/land_cover/../../../etc/passwd", "/collections/land_cover/%2E%2E/%2E%2E/etc/passwd",
                "/collections/land_cover/info/..%2F..%2F..%2Fetc%2Fpasswd"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404 and "root:" not in response.text
    assert opened == []


def test_band_files_come_from_the_index(client, demo, opened):
    cube, _ = demo
    client.get(
        f"/collections/sr_annual/tiles/WebMercatorQuad/{tile_at(*centre(cube, 'sr_annual'), 15)}.npy"
    )
    registered = {
        str(Path(m["path"].removeprefix("file://")))
        for ds in cube.datasets("sr_annual")
        for m in ds.measurements.values()
    }
    assert opened and set(opened) <= registered
