"""The indicator template on a user's own products — another CRS, declared nodata, sparse years, no
quality band: what ``check`` refuses before a job exists, what the plan fixes, and results computed
over the years that have data, against areas planted in the rasters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Geod

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.ingest import ingest_file
from sdgcube.errors import InvalidRequest, NoData
from sdgcube.processes.band_math import BandMath
from sdgcube.processes.base import CubeProcessor
from sdgcube.processes.burnt_area import BurntArea
from sdgcube.processes.context import local_context
from sdgcube.processes.sdg_6_6_1 import Sdg661
from sdgcube.processes.services import Services

pytestmark = pytest.mark.slow

# EPSG:3035 is equal-area: a 100 m pixel is 0.01 km² on the ellipsoid to well within 0.1 %.
LAEA = Affine(100.0, 0, 4_321_000.0, 0, -100.0, 3_210_000.0)
GEOGRAPHIC = Affine(0.001, 0, 10.0, 0, -0.001, 45.0)
WATER = "tpl_water"
REFLECTANCE = "tpl_reflectance"
WATER_YEARS = (2018, 2020, 2022)
LAKE = {
    2018: (slice(2, 12), slice(2, 12)),
    2020: (slice(2, 10), slice(2, 12)),
    2022: (slice(2, 8), slice(2, 12)),
}
GAP_2022 = (slice(15, 18), slice(0, 20))  # nodata (255) stripe in 2022
BURN = (slice(4, 10), slice(4, 10))
HOLE_2018 = (slice(14, 16), slice(0, 20))  # nodata (-9999) stripe in the post-event image


def _write(path: Path, bands: np.ndarray, crs: str, transform: Affine, nodata: float) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=bands.dtype, crs=crs, transform=transform, nodata=nodata) as dst:  # fmt: skip
        dst.write(bands)
    return path


def _water(year: int) -> np.ndarray:
    water = np.zeros((1, 20, 20), dtype="uint8")
    water[(0, *LAKE[year])] = 1
    if year == 2022:
        water[(0, *GAP_2022)] = 255
    return water


def _reflectance(burnt: bool) -> np.ndarray:
    """float32 nir, swir2, green, swir1: NBR 0.6 unburned, -0.3 burnt; MNDWI < 0 (land) everywhere."""
    nir, swir2 = np.full((20, 20), 0.4, "float32"), np.full((20, 20), 0.1, "float32")
    if burnt:
        nir[BURN], swir2[BURN] = 0.14, 0.26
        nir[HOLE_2018] = swir2[HOLE_2018] = -9999
    return np.stack(
        [nir, swir2, np.full((20, 20), 0.05, "float32"), np.full((20, 20), 0.2, "float32")]
    )


@pytest.fixture(scope="module")
def user_cube(empty_cube: Cube, tmp_path_factory: pytest.TempPathFactory) -> Cube:
    folder = tmp_path_factory.mktemp("user-data")
    dc, archive = empty_cube.dc, empty_cube.settings.archive_dir
    for year in WATER_YEARS:
        path = _write(folder / f"water_{year}.tif", _water(year), "EPSG:3035", LAEA, 255)
        ingest_file(dc, archive, path, product=WATER, when=datetime(year, 7, 1))
    for year in (2015, 2016, 2018):
        path = _write(
            folder / f"sr_{year}.tif", _reflectance(year == 2018), "EPSG:4326", GEOGRAPHIC, -9999
        )
        ingest_file(dc, archive, path, product=REFLECTANCE, when=datetime(year, 7, 1))
    return empty_cube


def _run(process: CubeProcessor, cube: Cube, data: dict[str, Any]) -> dict[str, Any]:
    plan = process.prepare(data, cube)
    with local_context(Services.of(cube)) as ctx:
        return process.run_plan(plan, ctx).document


def _geographic_km2(window: tuple[slice, slice]) -> float:
    """Ellipsoidal area of the pixels of ``window`` on the GEOGRAPHIC grid, pixel by pixel."""
    geod, total = Geod(ellps="WGS84"), 0.0
    for row in range(window[0].start, window[0].stop):
        for col in range(window[1].start, window[1].stop):
            x0, y0 = GEOGRAPHIC * (col, row)
            x1, y1 = GEOGRAPHIC * (col + 1, row + 1)
            area, _ = geod.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
            total += abs(area) / 1e6
    return total


def _cells(window: tuple[slice, slice]) -> int:
    return (window[0].stop - window[0].start) * (window[1].stop - window[1].start)


# --- sdg-6-6-1 on a sparse water product in EPSG:3035 ------------------------------------------------


def test_6_6_1_over_the_years_that_have_data(user_cube):
    inputs = {
        "water_product": WATER,
        "baseline": "2017/2019",
        "reporting": [2021, 2023],
        "units_layer": None,
    }
    document = _run(Sdg661({"name": "sdg-6-6-1"}), user_cube, inputs)
    assert document["years_with_data"] == {"baseline": [2018], "reporting": [2022]}
    assert document["years_without_observations"] == [2017, 2019, 2021, 2023]
    total = document["total"]
    assert total["baseline_permanent_km2"] == pytest.approx(_cells(LAKE[2018]) * 0.01, rel=1e-3)
    assert total["reporting_permanent_km2"] == pytest.approx(_cells(LAKE[2022]) * 0.01, rel=1e-3)
    assert total["permanent_change_pct"] == pytest.approx(100 * (60 - 100) / 100, abs=0.1)
    yearly = {row["year"]: row for row in document["yearly"]}
    assert yearly[2020]["permanent_km2"] == pytest.approx(_cells(LAKE[2020]) * 0.01, rel=1e-3)
    assert yearly[2022]["nodata_km2"] == pytest.approx(
        _cells(GAP_2022) * 0.01, rel=1e-3
    )  # declared 255
    assert yearly[2018]["nodata_km2"] == 0 and yearly[2019]["permanent_km2"] is None
    assert document["summary"]["time_period"] == "2021-2023"


def test_6_6_1_runs_the_plan_not_the_index(user_cube, tmp_path):
    """A dataset added after the request was checked is not read: the job loads what the plan holds."""
    product, dc, archive = "tpl_water_plan", user_cube.dc, user_cube.settings.archive_dir
    for year in (2018, 2020):
        path = _write(tmp_path / f"{year}.tif", _water(year), "EPSG:3035", LAEA, 255)
        ingest_file(dc, archive, path, product=product, when=datetime(year, 7, 1))
    process = Sdg661({"name": "sdg-6-6-1"})
    plan = process.prepare({"water_product": product, "baseline": "2018", "reporting": "2020/2021",
                            "units_layer": None}, user_cube)  # fmt: skip
    assert [ds.center_time.year for ds in plan.reads["water"].datasets] == [2018, 2020]
    late = _write(tmp_path / "2021.tif", _water(2018), "EPSG:3035", LAEA, 255)
    ingest_file(dc, archive, late, product=product, when=datetime(2021, 7, 1))
    assert len(user_cube.datasets(product, "2021")) == 1
    with local_context(Services.of(user_cube)) as ctx:
        document = process.run_plan(plan, ctx).document
    assert document["years_with_data"] == {"baseline": [2018], "reporting": [2020]}
    # Rows 10-11 are lake in 2018 (and in the late 2021 map), dry in 2020: had the job read 2021, their
    # share of permanent-water years in the reporting period would be 1/2, not 0.
    change = user_cube.load(document["collections"]["change"], chunks=None).change.values[0]
    lost = np.zeros((20, 20), dtype=bool)
    lost[10:12, 2:12] = True
    assert (change[lost] == -1).all() and (change[~lost] == 0).all()


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [({"baseline": "2010/2012"}, NoData, ("input 'baseline': product 'tpl_water' has no datasets in 2010, 2011, 2012 "
                                          r"\(years held: 2018, 2020, 2022\)")),
     ({"baseline": 2018, "reporting": 2023}, NoData, "input 'reporting': .* has no datasets in 2023"),
     ({"mask_clouds": True}, InvalidRequest, "input 'mask_clouds': product 'tpl_water' has no pixel-quality band"),
     ({"water_band": "water"}, InvalidRequest, "input 'water_band': product 'tpl_water' has no band 'water'")],
)  # fmt: skip
def test_6_6_1_refuses_what_the_product_cannot_answer(user_cube, data, error, message):
    with pytest.raises(error, match=message):
        Sdg661({"name": "sdg-6-6-1"}).prepare(
            {"water_product": WATER, "units_layer": None, **data}, user_cube
        )


# --- burnt-area and band-math on a reflectance product without a quality band ------------------------

_BANDS = {
    "nir_band": "band_1",
    "swir2_band": "band_2",
    "green_band": "band_3",
    "swir1_band": "band_4",
}


def test_burnt_area_over_sparse_years_without_a_quality_band(user_cube):
    process = BurntArea({"name": "burnt-area"})
    data = {
        "reflectance_product": REFLECTANCE,
        "pre": "2014/2017",
        "post": "2018/2019",
        "units_layer": None,
        **_BANDS,
    }
    plan = process.prepare(data, user_cube)
    assert (
        not plan.reads["pre"].mask_clouds and not plan.reads["post"].mask_clouds
    )  # nothing to mask with
    with local_context(Services.of(user_cube)) as ctx:
        document = process.run_plan(plan, ctx).document
    assert document["years_with_data"] == {"pre": [2015, 2016], "post": [2018]}
    total = document["total"]
    assert total["high_km2"] == pytest.approx(
        _geographic_km2(BURN), rel=1e-3
    )  # dNBR 0.6 - (-0.3) = 0.9
    assert total["burnt_km2"] == pytest.approx(total["high_km2"])
    assert total["nodata_km2"] == pytest.approx(
        _geographic_km2(HOLE_2018), rel=1e-3
    )  # declared -9999
    base = user_cube.settings.base_url
    for key, product in document["collections"].items():
        assert document["links"][key]["collection"] == f"{base}/collections/{product}"
        relative = document["links"][key]["stac_item"].removeprefix(f"{base}/stac/archive/")
        assert (user_cube.settings.archive_dir / relative).is_file()


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [({"mask_clouds": True}, InvalidRequest, "input 'mask_clouds': product 'tpl_reflectance' has no pixel-quality"),
     ({"pre": "2012/2014", "post": "2018"}, NoData, "input 'pre': .* no datasets in 2012, 2013, 2014"),
     ({"nir_band": "nir08"}, InvalidRequest, "input 'nir_band': product 'tpl_reflectance' has no band 'nir08'")],
)  # fmt: skip
def test_burnt_area_refuses_before_a_job(user_cube, data, error, message):
    with pytest.raises(error, match=message):
        BurntArea({"name": "burnt-area"}).prepare(
            {"reflectance_product": REFLECTANCE, "pre": "2016", "post": "2018", "units_layer": None, **_BANDS, **data},
            user_cube,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [({"mask_clouds": True}, "input 'mask_clouds': product 'tpl_reflectance' has no pixel-quality band"),
     ({"expression": "nir08 - band_2"}, "expression uses 'nir08', not a band"),
     ({"crs": "EPSG:3035"}, "input 'resolution': needed to read 'tpl_reflectance' in crs 'EPSG:3035'")],
)  # fmt: skip
def test_band_math_refuses_inputs_the_product_cannot_serve(user_cube, data, message):
    with pytest.raises(InvalidRequest, match=message):
        BandMath({"name": "band-math"}).prepare(
            {"product": REFLECTANCE, "expression": "band_1", **data}, user_cube
        )


def test_band_math_without_a_quality_band_masks_only_nodata(user_cube):
    document = _run(BandMath({"name": "band-math"}), user_cube,
                    {"product": REFLECTANCE, "expression": "band_1 - band_2", "datetime": "2018"})  # fmt: skip
    values = user_cube.load(document["collection"], chunks=None).value.values[0]
    expected = np.full((20, 20), 0.3, dtype="float32")
    expected[HOLE_2018] = np.nan  # the product's declared nodata
    expected[BURN] = 0.14 - 0.26
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert document["stac_item"].startswith(
        f"{user_cube.settings.base_url}/stac/archive/{document['collection']}/"
    )
