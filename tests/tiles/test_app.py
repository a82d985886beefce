"""The tiles application over the demo archive: tiles, metadata, default rendering, errors, limits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rio_tiler.io import Reader
from starlette.applications import Starlette
from starlette.routing import Mount

from sdgcube.settings import Limits
from sdgcube.tiles import create_tiles_app, render_defaults
from sdgcube.tiles.render import colormaps
from tests.tiles.helpers import WEB_MERCATOR, as_npy, as_rgba, centre, tile_at

pytestmark = pytest.mark.slow

TILES = "/collections/{}/tiles/WebMercatorQuad/{}"


def test_png_tile_without_parameters_draws_the_data(client, demo):
    cube, _ = demo
    response = client.get(
        TILES.format("sr_annual", tile_at(*centre(cube, "sr_annual"), 13)) + ".png"
    )
    assert response.headers["content-type"] == "image/png"
    rgba = as_rgba(response)
    assert rgba.shape == (256, 256, 4)
    drawn = rgba[..., 3] > 0
    assert drawn.mean() > 0.5 and rgba[drawn][:, :3].std() > 5


@pytest.mark.parametrize(
    ("product", "band", "zoom"), [("land_cover", "land_cover", 14), ("sr_annual", "red", 15)]
)
def test_npy_tile_equals_the_cog(client, demo, product, band, zoom):
    cube, _ = demo
    z, x, y = map(int, tile_at(*centre(cube, product), zoom).split("/"))
    values, valid = as_npy(
        client.get(TILES.format(product, f"{z}/{x}/{y}") + f".npy?bands={band}&datetime=2020")
    )
    (dataset,) = cube.datasets(product, "2020")
    path = dataset.measurements[band]["path"].removeprefix("file://")
    with Reader(path) as src:
        expected = src.tile(x, y, z, nodata=cube.product(product).measurements[band]["nodata"])
    np.testing.assert_array_equal(valid, ~expected.array.mask[0])
    np.testing.assert_array_equal(values[0][valid], expected.array.data[0][valid])
    assert values.dtype == expected.array.dtype


def test_datetime_selects_the_time_slice(client, demo):
    cube, truth = demo
    url = (
        TILES.format("land_cover", tile_at(*centre(cube, "land_cover"), 13))
        + ".npy?bands=land_cover"
    )
    latest = as_npy(client.get(url))[0]
    newest_year = max(truth["years"])
    np.testing.assert_array_equal(latest, as_npy(client.get(f"{url}&datetime={newest_year}"))[0])
    np.testing.assert_array_equal(
        latest, as_npy(client.get(f"{url}&datetime={newest_year}-07-01T00:00:00Z"))[0]
    )
    assert not np.array_equal(latest, as_npy(client.get(f"{url}&datetime=2000"))[0])
    # An interval mosaics its datasets newest first: the same as its newest year here.
    np.testing.assert_array_equal(
        latest, as_npy(client.get(f"{url}&datetime=2000/{newest_year}"))[0]
    )


def test_expression_over_measurement_names(client, demo):
    cube, _ = demo
    base = TILES.format("sr_annual", tile_at(*centre(cube, "sr_annual"), 14)) + ".npy?datetime=2020"
    (red, nir), valid = as_npy(client.get(f"{base}&bands=red,nir08"))
    ndvi, ndvi_valid = as_npy(client.get(f"{base}&expression=(nir08-red)/(nir08%2Bred)"))
    np.testing.assert_array_equal(valid, ndvi_valid)
    expected = (nir.astype(float) - red) / (nir.astype(float) + red)
    np.testing.assert_allclose(ndvi[0][valid], expected[valid], rtol=1e-5)
    assert (
        client.get(f"{base}&bands=red&bands=nir08").content
        == client.get(f"{base}&bands=red,nir08").content
    )


def test_nodata_is_transparent(client, demo):
    cube, truth = demo
    lon, lat = centre(cube, "sr_annual")
    # A tile on the edge of the archive: part data, part nothing.
    left, top = cube.datasets("sr_annual")[-1].extent.to_crs("EPSG:4326").boundingbox[::3]
    rgba = as_rgba(client.get(TILES.format("sr_annual", tile_at(left, top, 13)) + ".png"))
    assert 0 < (rgba[..., 3] == 0).mean() < 1
    inside = TILES.format("sr_annual", tile_at(lon, lat, 15)) + ".png?bands=red&rescale=0,2500"
    assert as_rgba(client.get(f"{inside}&datetime=2020"))[..., 3].min() == 255
    # Landsat 7 stripes (SLC-off years) are nodata in the COGs: transparent in the tile.
    striped = as_rgba(client.get(f"{inside}&datetime={truth['slc_off_years'][0]}"))
    assert 0 < (striped[..., 3] == 0).mean() < 0.5


def test_land_cover_default_uses_the_unccd_colours(client, demo):
    cube, _ = demo
    rgba = as_rgba(
        client.get(TILES.format("land_cover", tile_at(*centre(cube, "land_cover"), 13)) + ".png")
    )
    palette = {tuple(c) for c in colormaps().get("sdgcube_land_cover").values()}
    colours = {tuple(c) for c in rgba.reshape(-1, 4) if c[3]}
    assert colours and colours <= palette


def test_render_defaults(demo):
    cube, _ = demo
    assert render_defaults(cube, "sr_annual") == {"bands": "red,green,blue", "rescale": "0,2500"}
    assert render_defaults(cube, "land_cover") == {
        "bands": "land_cover",
        "colormap_name": "sdgcube_land_cover",
    }


def test_client_styling_replaces_the_defaults(client, demo):
    cube, _ = demo
    url = TILES.format("land_cover", tile_at(*centre(cube, "land_cover"), 13)) + ".png"
    styled = as_rgba(client.get(f"{url}?rescale=1,7&colormap_name=greys"))
    grey = styled[styled[..., 3] > 0][:, :3]
    assert (grey[:, 0] == grey[:, 1]).all() and (grey[:, 1] == grey[:, 2]).all()


def test_tilejson(client, demo):
    cube, _ = demo
    body = client.get("/collections/land_cover/WebMercatorQuad/tilejson.json").json()
    (template,) = body["tiles"]
    assert "/collections/land_cover/tiles/WebMercatorQuad/{z}/{x}/{y}?" in template
    assert "colormap_name=sdgcube_land_cover" in template
    lon, lat = centre(cube, "land_cover")
    west, south, east, north = body["bounds"]
    assert west < lon < east and south < lat < north and east - west < 0.1
    assert body["minzoom"] == 0 and 11 <= body["maxzoom"] <= 13
    with_time = client.get(
        "/collections/land_cover/WebMercatorQuad/tilejson.json?datetime=2005"
    ).json()
    assert "datetime=2005" in with_time["tiles"][0]


def test_ogc_tilesets_and_tiling_schemes(client):
    tilesets = client.get("/collections/land_cover/tiles").json()["tilesets"]
    assert any(t["crs"].endswith("/3857") for t in tilesets)
    tileset = client.get("/collections/land_cover/tiles/WebMercatorQuad").json()
    (tile_link,) = [link for link in tileset["links"] if link["rel"] == "tile"]
    assert "/collections/land_cover/tiles/WebMercatorQuad/" in tile_link["href"]
    assert tileset["tileMatrixSetLimits"]
    schemes = client.get("/tileMatrixSets").json()["tileMatrixSets"]
    assert "WebMercatorQuad" in {s["id"] for s in schemes}


def test_wmts_capabilities_parse(client):
    response = client.get("/collections/land_cover/WMTSCapabilities.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    ns = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
    layers = root.findall(".//wmts:Contents/wmts:Layer", ns)
    identifiers = [layer.find("ows:Identifier", ns).text for layer in layers]
    assert "land_cover_WebMercatorQuad_default" in identifiers
    urls = [r.get("template") for r in root.iter("{http://www.opengis.net/wmts/1.0}ResourceURL")]
    assert any(
        "/collections/land_cover/tiles/WebMercatorQuad/{TileMatrix}/{TileCol}/{TileRow}" in u
        for u in urls
    )


def test_info_statistics_point_preview_bbox(client, demo):
    cube, _ = demo
    info = client.get("/collections/sr_annual/info").json()
    assert [name for name, _ in info["band_descriptions"]][:3] == ["blue", "green", "red"]
    assert info["product"] == "sr_annual" and info["datasets"] == 1
    stats = client.get("/collections/land_cover/statistics?categorical=true").json()
    assert set(stats["b1"]["histogram"][1]) <= set(range(1, 8))
    lon, lat = centre(cube, "land_cover")
    point = client.get(f"/collections/land_cover/point/{lon},{lat}?datetime=2020").json()
    assert point["band_descriptions"] == ["land_cover"] and 1 <= point["values"][0] <= 7
    assert client.get("/collections/population/preview.png").status_code == 200
    box = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    part = client.get(f"/collections/land_cover/bbox/{box}/100x80.tif")
    assert part.status_code == 200 and part.headers["content-type"].startswith("image/tiff")


@pytest.mark.parametrize(
    "url",
    [
        "/collections/land_cover/tiles/WebMercatorQuad/10/0/0.png",  # the other side of the world
        "/collections/land_cover/tiles/WebMercatorQuad/3/0/0.png",
        "/collections/land_cover/point/0,0",
        "/collections/land_cover/bbox/0,0,1,1.png",
        "/collections/nope/tiles/WebMercatorQuad/0/0/0.png",  # no such collection
        "/collections/nope/WebMercatorQuad/tilejson.json",
        "/collections/land_cover/tiles/WebMercatorQuad/0/0/0.png?datetime=1990",  # no data then
    ],
)
def test_nothing_there_is_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("datetime=last%20tuesday", "time"),
        ("datetime=2020/2010", "ends before it starts"),
        ("bands=nope", "has no band(s) ['nope']"),
        ("expression=red%2Bnope", "has no band(s) ['nope']"),
        ("expression=red%2B", "expression"),
        ("expression=__import__('os').system('id')", "expression"),
        ("rescale=abc", "rescale"),
        ("colormap_name=nope", "colormap_name"),
        ("colormap=%7Bnot%20json", "colormap"),
        ("tilesize=0", "tilesize"),
        ("resampling=magic", "resampling"),
    ],
)
def test_bad_input_is_400(client, demo, query, message):
    cube, _ = demo
    response = client.get(
        TILES.format("sr_annual", tile_at(*centre(cube, "sr_annual"), 13)) + f".png?{query}"
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and message in body["description"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/tiles/NoSuchGrid/0/0/0.png", "tileMatrixSetId"),
        ("/tiles/WebMercatorQuad/-1/0/0.png", "zoom -1"),
        ("/tiles/WebMercatorQuad/30/0/0.png", "zoom 30"),
        ("/tiles/WebMercatorQuad/a/0/0.png", "z"),
        ("/tiles/WebMercatorQuad/13/0/0.png?buffer=0.3", "buffer"),
        ("/bbox/0,0,0,0.png", "bbox"),
        ("/bbox/1,1,0,0/10x10.png", "bbox"),
        ("/bbox/nan,0,1,1.png", "bbox"),
        ("/bbox/177,-18,178,-17/0x10.png", "image size"),
        ("/preview/0x0.png", "image size"),
        ("/preview.png?max_size=0", "max_size"),
        ("/bbox/177,-18,178,-17.png?dst_crs=EPSG:99999", "dst_crs"),
        ("/point/a,b", "lon"),
    ],
)
def test_malformed_routes_are_400(client, url, message):
    response = client.get(f"/collections/land_cover{url}")
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]


@pytest.mark.parametrize(
    "url",
    [
        "/collections/land_cover/tiles/WebMercatorQuad/13/0/0.png?tilesize=6000",
        "/collections/land_cover/tiles/WebMercatorQuad/13/0/0.png?tilesize=4999&buffer=2",
        "/collections/land_cover/bbox/177,-18,178,-17/6000x6000.png",
        "/collections/land_cover/preview/5001x5000.png",
        "/collections/land_cover/statistics?width=5001&height=5000",
    ],
)
def test_requests_beyond_the_pixel_limit_are_400(client, url):
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "LimitExceeded"
    assert "limit of 25000000 pixels" in response.json()["description"]


def test_pixel_limit_comes_from_the_settings(demo):
    cube, _ = demo
    settings = cube.settings.model_copy(update={"limits": Limits(max_pixels=128 * 128)})
    small = TestClient(create_tiles_app(settings, cube=cube))
    url = TILES.format("land_cover", tile_at(*centre(cube, "land_cover"), 13)) + ".png"
    assert small.get(f"{url}?tilesize=128").status_code == 200
    refused = small.get(url)
    assert refused.status_code == 400 and "limit of 16384 pixels" in refused.json()["description"]
    lon, lat = centre(cube, "land_cover")
    whole = f"/collections/land_cover/bbox/{lon - 0.1},{lat - 0.1},{lon + 0.1},{lat + 0.1}.png"
    assert small.get(whole).json()["code"] == "LimitExceeded"  # native resolution, no size given
    assert small.get(f"{whole}?max_size=100").status_code == 200


def test_tile_of_several_datasets_mosaics_them(client, demo):
    cube, _ = demo
    chips = cube.datasets("hires_rgb")
    assert len(chips) > 1
    lon, lat = centre(cube, "hires_rgb")
    zoom = next(z for z in range(20, 10, -1) if WEB_MERCATOR.tile(lon, lat, z) == WEB_MERCATOR.tile(
        *chips[0].extent.centroid.to_crs("EPSG:4326").coords[0], z))  # fmt: skip
    rgba = as_rgba(client.get(TILES.format("hires_rgb", tile_at(lon, lat, zoom)) + ".png"))
    assert (rgba[..., 3] > 0).mean() > 0.1


def test_mounted_under_a_prefix(demo):
    """As the main application mounts it: links carry the prefix, defaults still apply."""
    cube, _ = demo
    mounted = TestClient(
        Starlette(routes=[Mount("/tiles", app=create_tiles_app(cube.settings, cube=cube))])
    )
    body = mounted.get("/tiles/collections/land_cover/WebMercatorQuad/tilejson.json").json()
    (template,) = body["tiles"]
    assert "/tiles/collections/land_cover/tiles/WebMercatorQuad/{z}/{x}/{y}?" in template
    assert "colormap_name=sdgcube_land_cover" in template
    tile = mounted.get(
        f"/tiles/collections/land_cover/tiles/WebMercatorQuad/{tile_at(*centre(cube, 'land_cover'), 13)}.png"
    )
    assert as_rgba(tile)[..., 3].max() == 255
    assert mounted.get("/tiles/collections/nope/info").json()["code"] == "NotFound"
    links = mounted.get("/tiles/collections/land_cover/tiles/WebMercatorQuad").json()["links"]
    assert {link["href"].split("?")[0].split("/WebMercatorQuad")[0] for link in links} == {
        "http://testserver/tiles/collections/land_cover/tiles",
        "http://testserver/tiles/tileMatrixSets",
        "http://testserver/tiles/collections/land_cover",
    }
    wmts = mounted.get("/tiles/collections/land_cover/WMTSCapabilities.xml").text
    assert "http://testserver/tiles/collections/land_cover/tiles/WebMercatorQuad/" in wmts


def test_bbox_as_mapproxy_asks_for_it_is_drawn_with_the_defaults(client, demo):
    """The WMS source of MapProxy becomes a Web Mercator bbox request with no styling at all."""
    cube, _ = demo
    z, x, y = map(int, tile_at(*centre(cube, "land_cover"), 13).split("/"))
    box = ",".join(map(str, WEB_MERCATOR.xy_bounds(x, y, z)))
    query = "dst_crs=EPSG:3857&coord_crs=EPSG:3857"
    via_bbox = as_rgba(client.get(f"/collections/land_cover/bbox/{box}/256x256.png?{query}"))
    via_tile = as_rgba(client.get(TILES.format("land_cover", f"{z}/{x}/{y}") + ".png"))
    np.testing.assert_array_equal(via_bbox, via_tile)
    outside = client.get(f"/collections/land_cover/bbox/0,0,10000,10000/256x256.png?{query}")
    assert outside.status_code == 404


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/collections/land_cover/tiles/WebMercatorQuad?maxzoom=1000", "maxzoom=1000 is outside"),
        ("/collections/land_cover/tiles/WebMercatorQuad?minzoom=-5", "minzoom=-5 is outside"),
        ("/collections/land_cover/WebMercatorQuad/tilejson.json?maxzoom=25", "(0–24)"),
        ("/collections/land_cover/WebMercatorQuad/tilejson.json?maxzoom=x", "not an integer"),
        ("/collections/land_cover/WebMercatorQuad/WMTSCapabilities.xml?maxzoom=99", "maxzoom=99"),
    ],
)
def test_zoom_levels_beyond_the_tile_matrix_set_are_refused(client, path, fragment):
    """``maxzoom=1000`` once cost 18 s of CPU: the documents list every level up to it."""
    response = client.get(path)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and fragment in body["description"]


def test_zoom_levels_within_the_tile_matrix_set_are_served(client):
    body = client.get(
        "/collections/land_cover/WebMercatorQuad/tilejson.json?minzoom=3&maxzoom=12"
    ).json()
    assert (body["minzoom"], body["maxzoom"]) == (3, 12)
