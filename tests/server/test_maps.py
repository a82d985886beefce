"""Tiles (TiTiler at /tiles) and maps (MapProxy at /mapproxy) through the real server, read by
OWSLib and by GDAL's WMS/WMTS drivers through rasterio."""

from __future__ import annotations

import concurrent.futures
import io

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from owslib.wms import WebMapService
from owslib.wmts import WebMapTileService

pytestmark = pytest.mark.slow

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def _centre(served_demo) -> tuple[float, float]:
    _, cube, _ = served_demo
    minx, miny, maxx, maxy = cube.datasets("sr_annual")[0].extent.to_crs("EPSG:4326").boundingbox
    return (minx + maxx) / 2, (miny + maxy) / 2


def _rgba(content: bytes) -> np.ndarray:
    with rasterio.MemoryFile(content) as mem, mem.open() as src:
        return src.read()


def test_xyz_tile_has_data_and_outside_is_404(served_demo, http: httpx.Client) -> None:
    lon, lat = _centre(served_demo)
    tile = WEB_MERCATOR.tile(lon, lat, 14)
    png = http.get(
        f"/tiles/collections/sr_annual/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    )
    assert png.status_code == 200, png.text
    image = _rgba(png.content)
    assert image.shape[0] == 4 and (image[3] > 0).mean() > 0.9 and image[:3].std() > 5
    far = WEB_MERCATOR.tile(10.0, 50.0, 14)
    assert (
        http.get(
            f"/tiles/collections/sr_annual/tiles/WebMercatorQuad/14/{far.x}/{far.y}.png"
        ).status_code
        == 404
    )


def test_npy_tile_of_a_band_equals_the_cog(served_demo, http: httpx.Client) -> None:
    lon, lat = _centre(served_demo)
    tile = WEB_MERCATOR.tile(lon, lat, 15)
    response = http.get(f"/tiles/collections/land_cover/tiles/WebMercatorQuad/15/{tile.x}/{tile.y}.npy",
                        params={"datetime": "2015", "bands": "land_cover"})  # fmt: skip
    assert response.status_code == 200, response.text
    values = np.load(io.BytesIO(response.content))
    assert set(np.unique(values[0])) <= set(range(8))


def test_tilejson_points_at_the_mounted_tiles(served_demo, server, http: httpx.Client) -> None:
    tilejson = http.get("/tiles/collections/sr_annual/WebMercatorQuad/tilejson.json").json()
    template = tilejson["tiles"][0]
    assert template.startswith(f"{server.url}/tiles/collections/sr_annual/tiles/WebMercatorQuad/")
    lon, lat = _centre(served_demo)
    tile = WEB_MERCATOR.tile(lon, lat, 13)
    url = template.replace("{z}", "13").replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
    assert httpx.get(url, timeout=60).status_code == 200


def test_low_zoom_tile_over_the_whole_archive(http: httpx.Client) -> None:
    tile = WEB_MERCATOR.tile(177.94, -17.63, 2)
    response = http.get(
        f"/tiles/collections/sr_annual/tiles/WebMercatorQuad/2/{tile.x}/{tile.y}.png"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        # Tile 0/0 is far from the island: no data there, whatever the url says.
        ("/tiles/collections/sr_annual/tiles/WebMercatorQuad/14/0/0.png?url=/etc/passwd", 404),
        ("/tiles/collections/..%2F..%2Fetc%2Fpasswd/info", 404),
        ("/tiles/collections/%2Fetc%2Fpasswd/info", 404),
        ("/tiles/cog/info?url=/etc/passwd", 404),
        # The url parameter is ignored: the collection's own info.
        ("/tiles/collections/sr_annual/info?url=http://127.0.0.1:1/secret", 200),
    ],
)
def test_tiles_never_read_client_supplied_paths(http: httpx.Client, path: str, status: int) -> None:
    response = http.get(path)
    assert "root:" not in response.text
    assert response.status_code == status, response.text
    if status == 200:
        assert "/etc/passwd" not in response.text and "secret" not in response.text


def test_titiler_wmts_through_gdal(served_demo, server) -> None:
    url = f"{server.url}/tiles/collections/land_cover/WMTSCapabilities.xml"
    wmts = WebMapTileService(url)
    assert "land_cover_WebMercatorQuad_default" in wmts.contents
    with rasterio.open(f"WMTS:{url}") as catalog:
        layer = next(name for name in catalog.subdatasets if "WebMercatorQuad" in name)
    with rasterio.open(layer) as src:
        assert src.crs.to_epsg() == 3857
        lon, lat = _centre(served_demo)
        row, col = src.index(*WEB_MERCATOR.xy(lon, lat))
        pixels = src.read(window=((row - 8, row + 8), (col - 8, col + 8)))
    assert pixels[3].min() == 255 and pixels[:3].std() > 0


def test_mapproxy_wms_layers_time_and_getmap(served_demo, server) -> None:
    wms = WebMapService(f"{server.url}/mapproxy/service", version="1.3.0")
    assert {"sr_annual", "land_cover", "surface_water"} <= set(wms.contents)
    time_values = wms.contents["land_cover"].timepositions
    assert time_values and "2000-07-01" in time_values[0]
    lon, lat = _centre(served_demo)
    bbox = (lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    inside = wms.getmap(layers=["land_cover"], srs="CRS:84", bbox=bbox, size=(256, 256), format="image/png",
                        transparent=True, time="2005-07-01")  # fmt: skip
    early = _rgba(inside.read())
    assert (early[3] > 0).mean() > 0.9
    outside = wms.getmap(layers=["land_cover"], srs="CRS:84", bbox=(10, 50, 10.1, 50.1), size=(64, 64),
                         format="image/png", transparent=True)  # fmt: skip
    assert (_rgba(outside.read())[3] == 0).all()


def test_mapproxy_time_changes_the_picture(served_demo, server) -> None:
    wms = WebMapService(f"{server.url}/mapproxy/service", version="1.1.1")
    _, cube, _ = served_demo
    bbox = cube.datasets("sr_annual")[0].extent.to_crs("EPSG:4326").boundingbox
    images = [
        _rgba(
            wms.getmap(
                layers=["land_cover"],
                srs="EPSG:4326",
                bbox=tuple(bbox),
                size=(128, 128),
                format="image/png",
                transparent=True,
                time=when,
            ).read()
        )
        for when in ("2000-07-01", "2024-07-01")
    ]
    assert not np.array_equal(images[0], images[1])


def test_mapproxy_wmts_and_gdal_wms(served_demo, server) -> None:
    capabilities = f"{server.url}/mapproxy/wmts/1.0.0/WMTSCapabilities.xml"
    wmts = WebMapTileService(capabilities)
    assert "sr_annual" in wmts.contents
    lon, lat = _centre(served_demo)
    with rasterio.open(f"WMS:{server.url}/mapproxy/service?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap"
                       f"&LAYERS=sr_annual&SRS=EPSG:4326&BBOX={lon - 0.02},{lat - 0.02},{lon + 0.02},{lat + 0.02}") as src:  # fmt: skip
        window = src.read(window=((0, 64), (0, 64)), out_shape=(src.count, 64, 64))
    assert window.size and window.max() > 0


def test_mapproxy_tms_tile(served_demo, http: httpx.Client) -> None:
    lon, lat = _centre(served_demo)
    tile = WEB_MERCATOR.tile(lon, lat, 13)
    response = http.get(f"/mapproxy/tiles/1.0.0/sr_annual/webmercator/13/{tile.x}/{tile.y}.png")
    assert response.status_code == 200, response.text[:300]
    assert (_rgba(response.content)[3] > 0).any()


def test_mapproxy_under_load_does_not_starve_the_tiler(served_demo, server) -> None:
    lon, lat = _centre(served_demo)
    maps = [
        f"{server.url}/mapproxy/service?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sr_annual&STYLES="
        f"&SRS=EPSG:4326&BBOX={lon - d},{lat - d},{lon + d},{lat + d}&WIDTH=256&HEIGHT=256&FORMAT=image/png"
        for d in np.linspace(0.002, 0.03, 24)
    ]
    tile = WEB_MERCATOR.tile(lon, lat, 14)
    direct = (
        f"{server.url}/tiles/collections/sr_annual/tiles/WebMercatorQuad/14/{tile.x}/{tile.y}.png"
    )
    with concurrent.futures.ThreadPoolExecutor(16) as pool, httpx.Client(timeout=120) as client:
        futures = [pool.submit(client.get, url) for url in maps]
        direct_status = client.get(direct, timeout=30).status_code
        statuses = [f.result().status_code for f in futures]
    assert direct_status == 200
    assert statuses == [200] * len(maps)
