"""``sdg-15-1-1`` on a user's own data: land cover declaring nodata 255 in Web Mercator for the sparse
FAO reporting years 2018, 2020 and 2022 only, and a reflectance product without a quality band.
Forest, land and nodata areas per unit and year must match areas computed here from the planted
classes; nodata is neither land nor forest; a period is refused only when no year of it has data."""

from __future__ import annotations

import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.errors import InvalidRequest, NoData
from sdgcube.processes.sdg_15_1_1 import Sdg1511
from tests.processes.foreign import (
    Grid,
    fresh_cube,
    geodesic_km2,
    ingest_year,
    product_doc,
    run_process,
    unit_layer,
)

PROCESS = Sdg1511({"name": "sdg-15-1-1"})
_LEFT, _TOP = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(-60.2, -3.1)
GRID = Grid("EPSG:3857", left=_LEFT, top=_TOP, size=250.0, shape=(32, 32))
YEARS = (2018, 2020, 2022)
UNITS = {"west": (slice(0, 32), slice(0, 16)), "east": (slice(0, 32), slice(16, 32))}
FOREST = (slice(2, 22), slice(2, 30))
CLEARED_2020 = (slice(2, 7), slice(2, 14))
CLEARED_2022 = (slice(7, 10), slice(18, 30))
WATER = (slice(24, 30), slice(4, 12))
NO_DATA = (slice(24, 30), slice(20, 28))
AREA = {"units_layer": "user_units"}


def _land_cover(year: int) -> np.ndarray:
    lc = np.full(GRID.shape, 6, dtype=np.uint8)  # other land
    lc[FOREST] = 1
    if year >= 2020:
        lc[CLEARED_2020] = 3
    if year >= 2022:
        lc[CLEARED_2022] = 3
    lc[WATER] = 7
    lc[NO_DATA] = 255
    if year == 2020:
        lc[31, :] = 255  # a missing scan line
    return lc


def _reflectance(year: int) -> np.ndarray:
    """(red, nir) ×10⁴: NDVI 0.8 on forest, 0.4 on other land, −0.3 on water, nodata −9999."""
    lc = _land_cover(year)
    red = np.select([lc == 1, lc == 7], [444, 929], 1286).astype(np.int16)
    nir = np.select([lc == 1, lc == 7], [4000, 500], 3000).astype(np.int16)
    red[lc == 255] = nir[lc == 255] = -9999
    return np.stack([red, nir])


@pytest.fixture(scope="module")
def cube(backend, make_settings, tmp_path_factory):
    cube = fresh_cube(backend, make_settings)
    folder = tmp_path_factory.mktemp("foreign_1511")
    band = {"dtype": "int16", "nodata": -9999, "units": "1", "scale_factor": 0.0001}
    refl = product_doc("user_refl", [{"name": "red", **band}, {"name": "nir", **band}])
    for year in YEARS:
        ingest_year(cube, folder, "user_lc", _land_cover(year), GRID, year=year, nodata=255)
        if year < 2022:
            ingest_year(cube, folder, "user_refl", _reflectance(year), GRID, year=year, nodata=-9999,
                        definition=refl)  # fmt: skip
    unit_layer(cube, "user_units", GRID, UNITS)
    return cube


def _expected(year: int, unit: str) -> dict[str, float]:
    lc, km2 = _land_cover(year), geodesic_km2(GRID)
    inside = np.zeros(GRID.shape, bool)
    inside[UNITS[unit]] = True
    forest = km2[inside & (lc == 1)].sum()
    land = km2[inside & ~np.isin(lc, (7, 255))].sum()
    return {"forest_km2": forest, "land_km2": land, "forest_pct": 100 * forest / land,
            "nodata_km2": km2[inside & (lc == 255)].sum()}  # fmt: skip


def _check_yearly(document, years) -> None:
    assert document["years"] == list(years)
    rows = {(r["unit_id"], r["year"]): r for r in document["yearly"]}
    assert set(rows) == {(u, y) for u in UNITS for y in years}
    for (unit, year), row in rows.items():
        for column, value in _expected(year, unit).items():
            assert row[column] == pytest.approx(value, rel=1e-4), (unit, year, column)


@pytest.mark.slow
def test_sparse_reporting_years_with_declared_nodata(cube):
    document = run_process(
        PROCESS, cube, {**AREA, "land_cover_product": "user_lc", "years": "2018/2022"}
    )
    _check_yearly(document, YEARS)
    assert document["years_without_data"] == [2019, 2021]
    west = next(r for r in document["summary"]["rows"] if r["unit_id"] == "west")
    assert (west["first_year"], west["year"]) == (2018, 2022)
    expected = _expected(2022, "west")["forest_km2"] - _expected(2018, "west")["forest_km2"]
    assert west["forest_km2_change"] == pytest.approx(expected, rel=1e-4)
    assert west["nodata_km2"] == 0 and _expected(2022, "east")["nodata_km2"] > 0


@pytest.mark.slow
def test_ndvi_from_reflectance_without_a_quality_band(cube):
    document = run_process(PROCESS, cube, {**AREA, "source": "ndvi", "reflectance_product": "user_refl",
                                           "red_band": "red", "nir_band": "nir", "years": "2018/2020"})  # fmt: skip
    _check_yearly(document, (2018, 2020))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"years": "2010/2017"}, NoData, "input 'years': product 'user_lc' has no datasets in 2010…2017 .*\\(years held: 2018, 2020, 2022\\)"),
        ({"source": "ndvi", "reflectance_product": "user_refl", "red_band": "red", "nir_band": "nir",
          "mask_clouds": True}, InvalidRequest, "input 'mask_clouds': product 'user_refl' has no pixel-quality"),
        ({"source": "ndvi", "reflectance_product": "user_refl", "red_band": "red"}, InvalidRequest,
         "input 'nir_band': product 'user_refl' has no band 'nir08'"),
    ],
)  # fmt: skip
def test_requests_the_data_cannot_serve_are_refused_at_check(cube, data, error, message):
    before = {p.name for p in cube.products()}
    with pytest.raises(error, match=message):
        PROCESS.prepare({**AREA, "land_cover_product": "user_lc", **data}, cube)
    assert {p.name for p in cube.products()} == before


def test_web_mercator_pixel_areas_are_on_the_ellipsoid():
    """Proj measures a Web Mercator pixel on a sphere: 0.67 % too large at 3° S; the lattice of
    areas every 32 pixels is within 1e-4 here."""
    geobox = GeoBox(GRID.shape, GRID.transform, GRID.crs)
    np.testing.assert_allclose(pixel_area_km2(geobox), geodesic_km2(GRID), rtol=1e-4)
