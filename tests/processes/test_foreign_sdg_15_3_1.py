"""``sdg-15-3-1`` on a user's own data: a MODIS-like NDVI product (int16 scaled by 10⁻⁴, nodata
−32768, EPSG:4326, no 2005), land cover with nodata 255 in sparse years, soil carbon in EPSG:3857,
two reporting units of a user's layer. Planted: a declining block, baseline water, land that turns
into water in each period, NDVI gaps and land-cover gaps. The per-unit tables must match areas
computed here from the planted classes; cloud masking follows the product's quality band."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pyproj import Transformer

from sdgcube.errors import InvalidRequest
from sdgcube.processes import _sdg_15_3_1_compute as compute
from sdgcube.processes.sdg_15_3_1 import Sdg1531
from tests.processes.foreign import (
    Grid,
    fresh_cube,
    geodesic_km2,
    ingest_year,
    product_doc,
    run_process,
    unit_layer,
)

PROCESS = Sdg1531({"name": "sdg-15-3-1"})
GRID = Grid("EPSG:4326", left=32.5, top=0.4, size=0.0025, shape=(40, 40))
NDVI_YEARS = [y for y in range(2000, 2012) if y != 2005]
NODATA_I16 = -32768
# Planted blocks (rows, cols) of GRID.
DECLINING = (slice(5, 15), slice(5, 15))
TO_WATER_BASELINE = (
    slice(5, 10),
    slice(22, 32),
)  # grassland in 2000, water from 2007; NDVI declines
WATER = (slice(20, 30), slice(22, 32))  # water throughout
TO_WATER_REPORTING = (slice(30, 35), slice(5, 15))  # grassland until 2007, water in 2011
NO_NDVI = (slice(20, 25), slice(5, 15))
NO_LAND_COVER = (slice(35, 38), slice(25, 35))
UNITS = {"west": (slice(0, 40), slice(0, 20)), "east": (slice(0, 40), slice(20, 40))}
INPUTS = {
    "ndvi_product": "modis_ndvi", "ndvi_band": "ndvi", "land_cover_product": "user_lc",
    "soc_product": "user_soc", "units_layer": "user_units",
    "trajectory_period": "2000/2007", "state_baseline_period": [2000, 2004], "state_recent_period": [2006, 2007],
    "performance_period": [2000, 2007], "land_cover_target_year": 2007, "soc_target_year": 2007,
    "reporting_period": {"years": [2008, 2011]},
}  # fmt: skip
DEGRADED, STABLE, WATER_CODE, NO_DATA = -1, 0, 2, 3


def _ndvi(year: int) -> np.ndarray:
    ndvi = np.full(GRID.shape, 6000, dtype=np.int16)
    for block in (DECLINING, TO_WATER_BASELINE):
        ndvi[block] = 8000 - 400 * (year - 2000)
    ndvi[WATER] = -1000
    ndvi[NO_NDVI] = NODATA_I16
    if year == 2001:  # scattered gaps in stable land
        ndvi[0:4, ::3] = NODATA_I16
    return ndvi


def _land_cover(year: int) -> np.ndarray:
    lc = np.full(GRID.shape, 2, dtype=np.uint8)
    lc[WATER] = 7
    if year >= 2007:
        lc[TO_WATER_BASELINE] = 7
    if year >= 2011:
        lc[TO_WATER_REPORTING] = 7
    lc[NO_LAND_COVER] = 255
    return lc


def _soc_grid() -> Grid:
    """Web Mercator, 100 m, reaching well past GRID on every side."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(32.45, 0.45)
    return Grid("EPSG:3857", left=x, top=y, size=100.0, shape=(225, 225))


@pytest.fixture(scope="module")
def cube(backend, make_settings, tmp_path_factory):
    cube = fresh_cube(backend, make_settings)
    folder = tmp_path_factory.mktemp("foreign_1531")
    ndvi = product_doc("modis_ndvi", [{"name": "ndvi", "dtype": "int16", "nodata": NODATA_I16, "units": "1",
                                       "scale_factor": 0.0001, "add_offset": 0.0}])  # fmt: skip
    for year in NDVI_YEARS:
        ingest_year(cube, folder, "modis_ndvi", _ndvi(year), GRID, year=year, nodata=NODATA_I16,
                    definition=ndvi)  # fmt: skip
    soc_grid = _soc_grid()
    for year in (2000, 2007, 2011):
        ingest_year(cube, folder, "user_lc", _land_cover(year), GRID, year=year, nodata=255)
        soc = np.full(soc_grid.shape, 45, dtype=np.int16)
        ingest_year(cube, folder, "user_soc", soc, soc_grid, year=year, nodata=NODATA_I16)
    unit_layer(cube, "user_units", GRID, UNITS)
    return cube


@pytest.fixture(scope="module")
def document(cube) -> dict[str, Any]:
    return run_process(PROCESS, cube, INPUTS)


def _planted(
    *, water: list[tuple[slice, slice]], degraded: list[tuple[slice, slice]]
) -> np.ndarray:
    classes = np.full(GRID.shape, STABLE)
    for block in degraded:
        classes[block] = DEGRADED
    for block in water:
        classes[block] = WATER_CODE
    classes[NO_NDVI] = classes[NO_LAND_COVER] = NO_DATA
    return classes


BASELINE = _planted(water=[WATER], degraded=[DECLINING, TO_WATER_BASELINE])
STATUS = _planted(water=[WATER, TO_WATER_BASELINE], degraded=[DECLINING])


def _expected(classes: np.ndarray, unit: str) -> dict[str, float]:
    km2 = geodesic_km2(GRID)
    inside = np.zeros(GRID.shape, bool)
    inside[UNITS[unit]] = True
    area = {name: km2[inside & (classes == code)].sum() for name, code in
            (("degraded", DEGRADED), ("stable", STABLE), ("water", WATER_CODE), ("no_data", NO_DATA))}  # fmt: skip
    land = area["degraded"] + area["stable"] + area["no_data"]
    return {
        "degraded_km2": area["degraded"], "stable_km2": area["stable"], "improved_km2": 0.0,
        "water_km2": area["water"], "no_data_km2": area["no_data"], "land_km2": land,
        "degraded_pct": 100 * area["degraded"] / land,
        "degraded_pct_excluding_no_data": 100 * area["degraded"] / (area["degraded"] + area["stable"]),
        "degraded_pct_of_area": 100 * area["degraded"] / km2[inside].sum(),
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("unit", list(UNITS))
def test_per_unit_areas_keep_land_that_turns_into_water(document, unit):
    row = next(r for r in document["summary"]["rows"] if r["unit_id"] == unit)
    for prefix, classes in (("", BASELINE), ("reporting_", STATUS)):
        for column, value in _expected(classes, unit).items():
            assert row[prefix + column] == pytest.approx(value, rel=1e-5, abs=1e-6), prefix + column
    assert row["area_km2"] == pytest.approx(geodesic_km2(GRID)[UNITS[unit]].sum(), rel=1e-5)


@pytest.mark.slow
def test_rasters_follow_the_planted_classes(cube, document):
    def raster(part: str) -> np.ndarray:
        data = cube.load(document["collections"][part], chunks=None)
        assert data.odc.geobox.crs == "EPSG:4326" and data.odc.geobox.shape == GRID.shape
        return data[part].values[0]

    sdg = raster("sdg")
    expected = np.where(BASELINE == NO_DATA, np.nan, BASELINE).astype(float)
    expected[WATER] = np.nan  # soil carbon is not assessed under baseline water
    np.testing.assert_array_equal(sdg, expected)
    trajectory = raster("trajectory")  # eleven NDVI years, 2005 missing, 2001 gaps: still a trend
    assert np.all(trajectory[DECLINING] == -1) and np.all(trajectory[TO_WATER_BASELINE] == -1)
    assert np.all(np.isnan(trajectory[NO_NDVI]))
    assert np.all(raster("status")[DECLINING] == -1)
    assert np.all(raster("status")[TO_WATER_REPORTING] == 0)
    (dataset,) = cube.datasets(document["collections"]["sdg"])
    used = {str(ds.id) for p in ("modis_ndvi", "user_lc", "user_soc") for ds in cube.datasets(p)}
    assert set(dataset.metadata_doc["properties"]["sdgcube:input_datasets"]) == used
    assert document["links"]["sdg"]["collection"].endswith(
        f"/collections/{document['collections']['sdg']}"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"mask_clouds": True},
            "input 'mask_clouds': product 'modis_ndvi' has no pixel-quality band",
        ),
        ({"ndvi_band": "evi"}, "input 'ndvi_band': product 'modis_ndvi' has no band 'evi'"),
    ],
)
def test_inputs_the_product_cannot_serve_are_refused_at_check(cube, data, message):
    before = {p.name for p in cube.products()}
    with pytest.raises(InvalidRequest, match=message):
        PROCESS.prepare({**INPUTS, **data}, cube)
    assert {p.name for p in cube.products()} == before


@pytest.mark.slow
def test_clouds_are_masked_by_default_when_the_product_has_a_quality_band(cube, tmp_path):
    doc = product_doc("ndvi_qa", [
        {"name": "ndvi", "dtype": "int16", "nodata": NODATA_I16, "units": "1", "scale_factor": 0.0001},
        {"name": "pixel_quality", "dtype": "int16", "nodata": 1, "units": "bit_index",
         "flags_definition": {"fill": {"bits": 0, "values": {0: False, 1: True}},
                              "cloud": {"bits": 1, "values": {0: False, 1: True}}}},
    ])  # fmt: skip
    quality = np.zeros(GRID.shape, dtype=np.int16)
    quality[:3, :3] = 2  # cloud, in 2003 only
    for year in range(2003, 2007):
        data = np.stack([np.full(GRID.shape, 6000, dtype=np.int16), quality * (year == 2003)])
        ingest_year(
            cube, tmp_path, "ndvi_qa", data, GRID, year=year, nodata=NODATA_I16, definition=doc
        )
    periods = {"trajectory_period": "2003/2006", "state_baseline_period": "2003/2004",
               "state_recent_period": "2005/2006", "performance_period": "2003/2006"}  # fmt: skip
    nan = {}
    for mask_clouds in (None, True, False):
        data = {
            **INPUTS,
            **periods,
            "ndvi_product": "ndvi_qa",
            "mask_clouds": mask_clouds,
            "reporting_period": None,
        }
        plan = PROCESS.prepare(data, cube)
        read = plan.reads["ndvi"]
        assert read.mask_clouds is (mask_clouds is not False)
        ndvi = compute.load_ndvi(cube, read, plan.region.load_area()).sel(year=2003).values
        nan[mask_clouds] = int(np.isnan(ndvi).sum())
        assert np.nanmax(np.abs(ndvi - 0.6)) < 1e-6
    assert nan[None] == nan[True] == nan[False] + 9
    assert not PROCESS.prepare(INPUTS, cube).reads["ndvi"].mask_clouds  # no quality band
