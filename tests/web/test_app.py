"""The web app at ``/app`` in Debian's Chromium against a live server over the small demo: the map
draws the cube, the layer list is ``/collections``, the time slider, the point chart, a process run
through its form and permalinks work, and no request leaves the machine."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sdgcube.app.webapp import APP_DIR, AppFiles
from tests.browser import Browsing, browsing
from tests.server.conftest import Server

NDVI = "(nir08 - red) / (nir08 + red)"
READY_MS = 60_000


def test_unbuilt_app_answers_503_saying_how_to_build(tmp_path: Path) -> None:
    from starlette.routing import Mount

    client = TestClient(Starlette(routes=[Mount("/app", AppFiles(tmp_path))]))
    response = client.get("/app/")
    assert response.status_code == 503
    assert response.json()["code"] == "ServiceUnavailable"
    assert "make install" in response.json()["description"]
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    assert client.get("/app/").text.startswith("<!doctype html>")


needs_build = pytest.mark.skipif(
    not (APP_DIR / "index.html").is_file(),
    reason=f"the web app is not built ({APP_DIR}): run `make install` or "
    "`cd web/app && npm ci --no-audit --no-fund && npm run build`",
)


@pytest.fixture
def browser(server: Server) -> Iterator[Browsing]:
    with browsing() as browsed:
        yield browsed
        assert browsed.foreign() == []


def open_app(browsed: Browsing, server: Server, hash_: str = "") -> None:
    browsed.page.goto(f"{server.url}/app/{hash_}")
    browsed.page.wait_for_selector("body[data-ready=true]", state="attached", timeout=READY_MS)
    tiles_loaded(browsed)


def tiles_loaded(browsed: Browsing) -> None:
    browsed.page.wait_for_function(
        "() => window.sdgcubeApp.map.loaded() && window.sdgcubeApp.map.areTilesLoaded()",
        timeout=READY_MS,
    )


def canvas_pixels(browsed: Browsing, selector: str = "#map canvas") -> np.ndarray:
    """The map canvas as RGBA (the map keeps its drawing buffer for this)."""
    url = browsed.page.locator(selector).evaluate("c => c.toDataURL('image/png')")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def app_state(browsed: Browsing) -> dict:
    return browsed.page.evaluate(
        """() => { const a = window.sdgcubeApp; const c = a.map.getCenter();
        return {active: a.active, panel: a.panel, point: a.point, zoom: a.map.getZoom(),
                center: [c.lng, c.lat], compare: a.compare.state()}; }"""
    )


@pytest.mark.slow
@needs_build
def test_app_is_served_and_linked(server: Server, http: httpx.Client) -> None:
    redirect = http.get("/app", follow_redirects=False)
    assert redirect.status_code == 307
    page = http.get("/app/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', page.text)
    assert assets and all(http.get(f"/app/{a}").status_code == 200 for a in assets)
    links = http.get("/", params={"f": "json"}).json()["links"]
    assert {"href": f"{server.url}/app/", "rel": "alternate", "type": "text/html",
            "title": "Web app"} in links  # fmt: skip


@pytest.mark.slow
@needs_build
def test_legends_come_from_the_product_metadata(http: httpx.Client) -> None:
    land_cover = http.get("/collections/land_cover/legend").json()
    classes = {c["value"]: (c["name"], c["color"]) for c in land_cover["classes"]}
    assert classes[1] == ("tree covered", "#787f1bff")
    assert classes[7] == ("water body", "#0046c8ff")
    population = http.get("/collections/population/legend").json()
    assert population["units"] == "persons" and population["rescale"] == [0, 50]
    assert len(population["ramp"]) > 2 and population["classes"] == []
    assert http.get("/collections/nope/legend").status_code == 404


@pytest.mark.slow
@needs_build
def test_map_draws_the_cube_and_lists_every_collection(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    open_app(browser, server)
    pixels = canvas_pixels(browser)
    background = np.array([0xE8, 0xEE, 0xF2, 0xFF])
    drawn = ~np.all(pixels == background, axis=-1)
    assert drawn.mean() > 0.2, "the true-colour base layer should cover the cube's area"
    assert len(np.unique(pixels[drawn].reshape(-1, 4), axis=0)) > 50, "imagery, not a flat fill"
    browser.screenshot("app-map")
    listed = browser.page.locator("#layer-list li.layer").evaluate_all(
        "items => items.map(i => i.dataset.layer)"
    )
    collections = http.get("/collections", params={"f": "json"}).json()["collections"]
    assert sorted(listed) == sorted(c["id"] for c in collections)
    browser.page.fill("#search", "Land Cover")
    matching = sorted(c["id"] for c in collections
                      if "land cover" in f"{c['id']} {c.get('title')} {c.get('description')}".lower())  # fmt: skip
    assert "land_cover" in matching and len(matching) < len(collections)
    browser.page.wait_for_function(
        f"document.querySelectorAll('#layer-list li.layer').length === {len(matching)}"
    )
    shown = browser.page.locator("#layer-list li.layer").evaluate_all(
        "items => items.map(i => i.dataset.layer)"
    )
    assert sorted(shown) == matching


@pytest.mark.slow
@needs_build
def test_time_slider_sets_the_tiles_datetime(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    domain = http.get("/collections/land_cover/coverage/domainset", params={"f": "json"}).json()
    times = next(a for a in domain["generalGrid"]["axis"] if a["axisLabel"] == "time")["coordinate"]
    open_app(browser, server, "#layers=land_cover")
    before = canvas_pixels(browser)
    seen = len(browser.requests)
    slider = browser.page.locator("input.time-slider[data-layer=land_cover]")
    slider.focus()
    slider.press("Home")
    first = times[0][:10]
    browser.page.wait_for_function(
        f"() => document.querySelector('[data-testid=time-land_cover]').textContent === '{first}'"
    )
    tiles_loaded(browser)
    asked = [r for r in browser.requests[seen:] if "/tiles/collections/land_cover/" in r]
    assert asked and all(f"datetime={first}" in r for r in asked)
    assert f"layers=land_cover@{first}" in browser.page.evaluate("location.hash")
    assert not np.array_equal(before, canvas_pixels(browser)), "land cover changed since 2000"
    browser.screenshot("app-time")


@pytest.mark.slow
@needs_build
def test_click_charts_the_pixels_series(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    open_app(browser, server, "#layers=population")
    box = browser.page.locator("#map").bounding_box()
    assert box is not None
    browser.page.locator("#map").click(
        position={"x": box["width"] * 0.45, "y": box["height"] * 0.55}
    )
    browser.page.wait_for_selector("table.series-table", timeout=READY_MS)
    lng, lat = app_state(browser)["point"]
    edr = http.get("/collections/population/position",
                   params={"coords": f"POINT({lng} {lat})", "f": "json"}).json()  # fmt: skip
    expected = edr["ranges"]["population"]["values"]
    shown = browser.page.locator("table.series-table td.value").all_text_contents()
    assert [float(v) for v in shown] == pytest.approx(expected)
    assert len(expected) > 1 and len(set(expected)) > 1, "a series, not one value"
    assert browser.page.locator("svg.series circle").count() == len(expected)
    with browser.page.expect_download() as download:
        browser.page.click("a.csv")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "time,population" and len(rows) == len(expected) + 1
    assert float(rows[1].split(",")[1]) == pytest.approx(expected[0])
    browser.screenshot("app-chart")


@pytest.mark.slow
@needs_build
def test_drawn_area_charts_the_area_series(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    open_app(browser, server, "#layers=population&panel=chart")
    page = browser.page
    page.click("#draw-area")
    box = page.locator("#map").bounding_box()
    assert box is not None
    for fx, fy in [(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]:
        page.locator("#map").click(position={"x": box["width"] * fx, "y": box["height"] * fy})
    page.click("#finish-area")
    page.wait_for_selector("table.series-table[data-query=area]", timeout=READY_MS)
    ring = page.evaluate("window.sdgcubeApp.area")
    assert len(ring) == 5 and ring[0] == ring[-1]
    polygon = "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))"
    edr = http.get("/collections/population/area", params={"coords": polygon, "f": "json"}).json()
    expected = edr["ranges"]["population"]["values"]
    shown = page.locator("table.series-table td.value").all_text_contents()
    assert [float(v) for v in shown] == pytest.approx(expected) and len(expected) > 1
    assert "area=" in page.evaluate("location.hash")
    browser.screenshot("app-area")


@pytest.mark.slow
@needs_build
def test_band_math_through_its_form_adds_its_layer(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    open_app(browser, server)
    page = browser.page
    page.click("#tabs button[data-panel=processes]")
    page.select_option("#process-select", "band-math")
    page.wait_for_selector("#process-form[data-process=band-math] #in-expression")
    assert page.locator("#in-reducer option").all_text_contents() == [
        "mean",
        "median",
        "min",
        "max",
        "last",
    ]
    assert page.input_value("#in-reducer") == "mean"
    assert page.input_value("#in-product") == "sr_annual"  # the description's default
    page.fill("#in-expression", NDVI)
    page.fill("#in-datetime", "2020")
    page.click("#process-form button[type=submit]")
    page.wait_for_selector("#process-status progress, #process-status .error", timeout=READY_MS)
    assert page.locator("#process-status .error").count() == 0, page.inner_text("#process-status")
    done = page.locator("#process-status .job-text")
    done.filter(has_text="added to the map").wait_for(timeout=180_000)
    job_id = page.get_attribute("#process-status progress", "data-job")
    status = http.get(f"/jobs/{job_id}", params={"f": "json"}).json()
    assert status["status"] == "successful" and status["progress"] == 100
    assert page.get_attribute("#process-status progress", "value") == "100"
    product = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()["collection"]
    assert [layer["id"] for layer in app_state(browser)["active"]] == [product]
    tiles_loaded(browser)
    assert any(f"/tiles/collections/{product}/tiles/" in r for r in browser.requests)
    page.click("#tabs button[data-panel=jobs]")
    page.wait_for_selector(f"#job-list li[data-job='{job_id}'].successful")
    browser.screenshot("app-job")


@pytest.mark.slow
@needs_build
def test_dashboard_shows_an_indicator_per_unit(
    server: Server, http: httpx.Client, browser: Browsing
) -> None:
    open_app(browser, server, "#panel=dashboard")
    page = browser.page
    page.select_option("#indicator", "sdg-15-1-1")
    page.wait_for_selector("#indicator-about dl.params dt")
    page.select_option("#units", ["D1", "D2"])
    page.click("#indicator-run")
    page.wait_for_selector("#indicator-table", timeout=180_000)
    job_id = page.get_attribute("#indicator-status progress", "data-job")
    rows = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()["summary"]["rows"]
    assert {r["unit_id"] for r in rows} == {"D1", "D2"}
    for row in rows:
        cells = page.locator(f"#indicator-table tr[data-unit={row['unit_id']}] td.value")
        column = page.input_value("#indicator-column")
        headers = page.locator("#indicator-table th").all_text_contents()[1:]
        shown = dict(zip(headers, (float(v) for v in cells.all_text_contents()), strict=True))
        assert shown[column] == pytest.approx(row[column])
    page.wait_for_function(
        "() => window.sdgcubeApp.map.getSource('dashboard') && "
        "window.sdgcubeApp.map.isSourceLoaded('dashboard')",
        timeout=READY_MS,
    )
    drawn = page.evaluate("window.sdgcubeApp.map.querySourceFeatures('dashboard').length")
    assert drawn >= 2, "the units' choropleth is on the map"
    assert page.locator("svg.bars rect").count() == 2
    assert "2000/2024" in page.inner_text("#indicator-result dl.params")
    browser.screenshot("app-dashboard")


@pytest.mark.slow
@needs_build
def test_permalink_restores_the_view(server: Server, browser: Browsing) -> None:
    link = ("#map=14.00/-17.63400/177.94300&layers=land_cover@2005-07-01~0.6,population"
            "&panel=chart&compare=land_cover@2000-07-01~0.300&point=177.943000,-17.634000")  # fmt: skip
    open_app(browser, server, link)
    browser.page.wait_for_selector("table.series-table", timeout=READY_MS)
    state = app_state(browser)
    assert state["active"] == [{"id": "land_cover", "time": "2005-07-01", "opacity": 0.6},
                               {"id": "population", "time": None, "opacity": 1}]  # fmt: skip
    assert state["zoom"] == pytest.approx(14) and state["panel"] == "chart"
    assert state["center"] == pytest.approx([177.943, -17.634], abs=1e-5)
    assert state["compare"] == {"id": "land_cover", "time": "2000-07-01", "swipe": 0.3}
    assert state["point"] == pytest.approx([177.943, -17.634])
    page = browser.page
    assert page.input_value("input.opacity[data-layer=land_cover]") == "0.6"
    assert page.text_content("[data-testid=time-land_cover]") == "2005-07-01"
    assert page.is_visible("#map-b") and page.is_visible("#swipe")
    assert page.input_value("#compare-time") == "2000-07-01"
    assert page.locator("table.series-table").get_attribute("data-collection") == "population"
    assert any("/land_cover/" in r and "datetime=2005-07-01" in r for r in browser.requests)
    assert any("/land_cover/" in r and "datetime=2000-07-01" in r for r in browser.requests)
    assert canvas_pixels(browser, "#map-b canvas")[..., 3].max() > 0
    browser.screenshot("app-compare")
