"""pygeoapi's own HTML pages served by sdgcube: offline (every asset from this server, the maps'
tiles from its own tiler), in sdgcube's look, with the landing page's metadata from the settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from sdgcube.app.ogc_config import PAGE_TEMPLATES, metadata_block
from sdgcube.app.pygeoapi_host import PAGE_ASSETS, page_assets
from sdgcube.datacube.cube import Cube
from sdgcube.settings import ServerMetadata, Settings
from tests.browser import browsing
from tests.server.conftest import Server

CDNS = ("unpkg.com", "cdnjs.", "jsdelivr.net", "googleapis.com", "openstreetmap.org")
NDVI = "(nir08 - red) / (nir08 + red)"


def test_no_template_names_a_cdn() -> None:
    templates = sorted(Path(str(PAGE_TEMPLATES)).rglob("*.html"))
    assert len(templates) >= 6
    for template in templates:
        text = template.read_text()
        assert not [cdn for cdn in CDNS if cdn in text], template


def test_metadata_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDGCUBE_METADATA__TITLE", "Statistics Office Cube")
    monkeypatch.setenv("SDGCUBE_METADATA__CONTACT_EMAIL", "eo@stats.example")
    monkeypatch.setenv("SDGCUBE_METADATA__KEYWORDS", "SDG, land")
    metadata = Settings().metadata
    assert (metadata.title, metadata.contact_email) == (
        "Statistics Office Cube",
        "eo@stats.example",
    )
    assert metadata.keywords == ("SDG", "land")


def _landing_html(metadata: ServerMetadata) -> str:
    from babel import Locale
    from pygeoapi import l10n
    from pygeoapi.util import render_j2_template

    l10n._cfg_cache.clear()  # pygeoapi keeps the first configuration it translated, per locale

    config = {"server": {"url": "http://cube.example", "encoding": "utf-8", "language": "en-US",
                         "map": {"url": "", "attribution": ""}},
              "metadata": metadata_block(metadata)}  # fmt: skip
    data = {"links": [], "collection": True, "process": True, "jobs": True}
    return render_j2_template(
        config, {"path": str(PAGE_TEMPLATES)}, "landing_page.html", data, Locale.parse("en_US")
    )


def test_the_landing_page_shows_the_configured_metadata() -> None:
    metadata = ServerMetadata(title="Statistics Office Cube", contact_email="eo@stats.example",
                              provider_name="National Statistics Office",
                              provider_url="https://stats.example")  # fmt: skip
    page = _landing_html(metadata)
    assert (
        "<title>Statistics Office Cube</title>" in page and ">Statistics Office Cube<small>" in page
    )
    assert 'href="mailto:eo@stats.example"' in page and "National Statistics Office" in page
    assert 'href="http://cube.example/app"' in page
    assert 'href="http://cube.example/static/pages/vendor/bootstrap/bootstrap.min.css"' in page
    assert not [cdn for cdn in CDNS if cdn in page]
    # No e-mail configured: no dangling ``mailto:`` link in the header.
    assert 'class="nav-link">Contact' not in _landing_html(ServerMetadata())


def _stac_html(template: str, data: dict) -> str:
    from babel import Locale
    from pygeoapi import l10n
    from pygeoapi.util import render_j2_template

    l10n._cfg_cache.clear()
    config = {"server": {"url": "http://cube.example", "encoding": "utf-8", "language": "en-US",
                         "map": {"url": "http://cube.example/tiles/{z}/{x}/{y}.png", "attribution": "sdgcube"}},
              "metadata": metadata_block(ServerMetadata())}  # fmt: skip
    return render_j2_template(
        config, {"path": str(PAGE_TEMPLATES)}, template, data, Locale.parse("en_US")
    )


@pytest.mark.parametrize(
    ("template", "heading", "shown"),
    [("stac/item.html", "Item: sr-2000", "eo:cloud_cover"),
     ("stac/collection_base.html", "Collections: sr-2000", "annual composites")],
)  # fmt: skip
def test_the_stac_pages_share_one_base_and_the_leaflet_setup(
    template: str, heading: str, shown: str
) -> None:
    """pygeoapi renders these two for STAC entries with assets; no demo path reaches them."""
    data = {"id": "sr-2000", "path": "archive/sr_annual/2000", "type": "Feature", "links": [],
            "description": "annual composites", "properties": {"eo:cloud_cover": 3},
            "extent": {"spatial": {"bbox": [[177.9, -17.7, 178.0, -17.6]]}},
            "assets": {"red": {"href": "http://cube.example/stac/archive/red.tif", "created": "2020",
                               "file:size": 2048}}}  # fmt: skip
    page = _stac_html(template, data)
    assert f"<h2>{heading}</h2>" in page and shown in page and "red.tif</span>" in page
    assert 'href="http://cube.example/static/pages/vendor/leaflet/leaflet.css"' in page
    assert 'var map = L.map("items-map").setView([0, 0], 1);' in page
    assert 'new L.TileLayer("http://cube.example/tiles/{z}/{x}/{y}.png"' in page
    assert "gen_safe_bbox([177.9, -17.7, 178.0, -17.6])" in page
    assert not [cdn for cdn in CDNS if cdn in page]


def test_missing_page_assets_are_404_not_500(tmp_path: Path) -> None:
    app = Starlette(routes=[Mount("/static/pages", page_assets(tmp_path / "not-built"))])
    with TestClient(app) as client:
        assert client.get("/static/pages/vendor/leaflet/leaflet.js").status_code == 404


def _assets_built() -> None:
    if not (PAGE_ASSETS / "vendor" / "bootstrap" / "bootstrap.min.css").is_file():
        pytest.skip("pygeoapi page assets not built: cd web/pages && npm ci && npm run build")


@pytest.fixture(scope="module")
def pages(server: Server, http: httpx.Client) -> dict[str, str]:
    """One URL of each kind of page, from the demo's own collections and a finished job."""
    collections = http.get("/collections", params={"f": "json"}).json()["collections"]
    features = next(c["id"] for c in collections if c.get("itemType") == "feature")
    item = http.get(f"/collections/{features}/items", params={"f": "json", "limit": 1}).json()
    response = http.post("/processes/band-math/execution",
                         json={"inputs": {"expression": NDVI, "datetime": "2020"}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    job = response.json()["jobID"]
    server.wait_for(lambda: http.get(f"/jobs/{job}", params={"f": "json"}).json()["status"]
                    in ("successful", "failed"), what=f"job {job}")  # fmt: skip
    west, south, east, north = http.get("/collections/sr_annual", params={"f": "json"}).json()[
        "extent"
    ]["spatial"]["bbox"][0]
    dx, dy = (east - west) * 0.45, (north - south) * 0.45
    box = f"{west + dx},{south + dy},{east - dx},{north - dy}"
    point = f"POINT({(west + east) / 2} {(south + north) / 2})"
    return {
        "coverage": f"/collections/sr_annual/coverage?bbox={box}",
        "position": f"/collections/population/position?coords={point}",
        "stac": "/stac/archive/sr_annual",
        "landing": "/", "collections": "/collections", "collection": "/collections/sr_annual",
        "items": f"/collections/{features}/items", "item": f"/collections/{features}/items/{item['features'][0]['id']}",
        "processes": "/processes", "process": "/processes/band-math", "job": f"/jobs/{job}",
        "jobs": "/jobs",
    }  # fmt: skip


def _html(server: Server, path: str) -> str:
    return f"{server.url}{path}{'&' if '?' in path else '?'}f=html"


MAPS = ("collection", "items", "item", "coverage", "position")
HEADER_BACKGROUND = "getComputedStyle(document.querySelector('.sdg-header')).backgroundColor"
BOOTSTRAP_CONTAINER = "getComputedStyle(document.querySelector('.container')).maxWidth"


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    [
        "landing",
        "collections",
        "collection",
        "items",
        "item",
        "coverage",
        "position",
        "stac",
        "processes",
        "process",
        "job",
        "jobs",
    ],
)
def test_a_page_is_styled_draws_its_map_and_stays_on_the_machine(
    server: Server, pages: dict[str, str], kind: str
) -> None:
    _assets_built()
    with browsing() as browsed:
        response = browsed.page.goto(_html(server, pages[kind]), wait_until="networkidle")
        assert response is not None and response.status == 200
        assert browsed.foreign() == []
        # sdgcube.css paints the header; Bootstrap bounds the container (the default is ``none``).
        assert browsed.page.evaluate(HEADER_BACKGROUND) == "rgb(29, 43, 54)"
        assert browsed.page.evaluate(BOOTSTRAP_CONTAINER) != "none"
        assert browsed.page.locator("a.sdg-app").get_attribute("href") == f"{server.url}/app"
        if kind in MAPS:  # Leaflet, from this server, draws this server's tiles
            tiles = browsed.page.evaluate(
                "[...document.querySelectorAll('img.leaflet-tile-loaded')].map(t => t.src)"
            )
            assert tiles and all(src.startswith(f"{server.url}/tiles/") for src in tiles), tiles
        if kind in ("landing", "collection", "coverage"):
            browsed.screenshot(f"pages-{kind}")


@pytest.mark.slow
@pytest.mark.parametrize("ui", ["", "&ui=redoc"])  # ReDoc is not installed: Swagger UI stands in
def test_swagger_ui_renders_the_operations(server: Server, ui: str) -> None:
    _assets_built()
    with browsing() as browsed:
        browsed.page.goto(f"{server.url}/openapi?f=html{ui}", wait_until="networkidle")
        browsed.page.wait_for_selector(".opblock", timeout=60_000)
        assert browsed.page.locator(".opblock").count() > 20
        assert browsed.foreign() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "headers"),
    [({"f": "html"}, {}), ({}, {"Accept": "text/html,application/xhtml+xml"})],
)
def test_the_jobs_list_is_a_page_listing_the_jobs(
    server: Server, http: httpx.Client, pages: dict[str, str], params: dict, headers: dict
) -> None:
    response = http.get("/jobs", params=params, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'class="sdg-header' in page and "/static/pages/sdgcube.css" in page  # our _base.html
    job = pages["job"].rsplit("/", 1)[1]
    assert f'href="{server.url}/jobs/{job}"' in page and ">band-math</a>" in page
    listed = http.get("/jobs", params={"f": "json"}).json()["jobs"]
    assert page.count('<mark class="') == len(listed) >= 1

    # The page filters as the JSON does (pygeoapi's own list ignored status and processID).
    def listed_page(**query: str) -> str:
        return http.get("/jobs", params={**params, **query}, headers=headers).text

    assert "<mark class=" not in listed_page(processID="no-such-process")
    assert job in listed_page(status="successful") and job not in listed_page(status="failed")


@pytest.mark.slow
def test_the_configured_metadata_reaches_pygeoapi(served_demo: tuple[Server, Cube, dict]) -> None:
    """Through the server's own configuration path: settings → pygeoapi config → landing page."""
    from sdgcube.app.ogc_config import pygeoapi_config
    from sdgcube.app.pygeoapi_host import PygeoapiHost
    from sdgcube.processes.services import DaskConnection, Services

    _, cube, _ = served_demo
    metadata = ServerMetadata(title="Statistics Office Cube", contact_email="eo@stats.example")
    settings = cube.settings.model_copy(update={"metadata": metadata})
    host = PygeoapiHost(pygeoapi_config(Services(settings, cube, DaskConnection(settings))), dict)
    routes = host.routes(lambda endpoint: endpoint, lambda endpoint: endpoint)
    with TestClient(Starlette(routes=routes)) as client:
        landing = client.get("/", params={"f": "json"}).json()
        page = client.get("/", params={"f": "html"}).text
    assert landing["title"] == "Statistics Office Cube"
    assert "<title>Statistics Office Cube</title>" in page and "mailto:eo@stats.example" in page
