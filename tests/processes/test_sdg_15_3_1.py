"""``sdg-15-3-1``: the description generated from its inputs, input parsing and the periods they
resolve to, and (slow, on the demo archive) runs checked against the planted truth: the degrading
rangeland, the deforested patch, the soil-carbon loss, the per-unit table, a reporting period, a
user's LPD product, refusals before any work, and a job on the Dask cluster."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.errors import InvalidRequest, NoData
from sdgcube.processes.context import local_context
from sdgcube.processes.executor import job_dir, submit_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.sdg_15_3_1 import Sdg1531, Sdg1531Inputs
from sdgcube.processes.services import Services
from tests.processes.helpers import walk

PROCESS = Sdg1531({"name": "sdg-15-3-1"})


# --- description and parsing -----------------------------------------------------------------------


def test_registered():
    assert PROCESSES["sdg-15-3-1"] == "sdgcube.processes.sdg_15_3_1.Sdg1531"


def test_description_lists_every_input_with_its_default():
    metadata = PROCESS.metadata
    assert metadata["id"] == "sdg-15-3-1"
    inputs = metadata["inputs"]
    assert set(inputs) == set(Sdg1531Inputs.model_fields)
    assert all(value["minOccurs"] == 0 for value in inputs.values())
    assert inputs["trajectory_period"]["schema"]["default"] == "2000/2015"
    assert [b["type"] for b in inputs["trajectory_period"]["schema"]["oneOf"]] == [
        "string",
        "array",
        "integer",
    ]
    assert inputs["trend_method"]["schema"]["enum"] == ["ols", "theil_sen"]
    assert inputs["significance"]["schema"]["enum"] == [0.9, 0.95, 0.99]
    assert inputs["transition_matrix"]["schema"]["default"][0] == [0, -1, -1, -1, -1, -1, 0]
    assert "oneOf" in inputs["reporting_period"]["schema"]["properties"]["years"]
    assert inputs["reporting_period"]["schema"]["required"] == ["years"]
    for node in walk(inputs):  # nested models are inlined: the description stands on its own
        if isinstance(node, dict):
            assert "$ref" not in node and "$defs" not in node


def test_the_example_and_the_defaults_parse():
    inputs = PROCESS.parse(PROCESS.metadata["example"]["inputs"])
    assert inputs.unit_ids == ["D3"]
    defaults = PROCESS.parse({})
    baseline = defaults.baseline()
    assert (
        baseline.trajectory,
        baseline.state_baseline,
        baseline.state_recent,
        baseline.performance,
    ) == ((2000, 2015), (2000, 2012), (2013, 2015), (2000, 2015))
    assert (baseline.land_cover, baseline.soc, baseline.time_period) == (
        (2000, 2015),
        (2000, 2020),
        "2000-2015",
    )
    assert defaults.reporting() is None and defaults.reference_product == "sr_annual"
    assert (
        defaults.trajectory_params().confidence == 0.95
        and defaults.trajectory_params().slope_threshold == 0.001
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trajectory_period": [2015, 2000]}, "input 'trajectory_period': .*period 2015/2000 ends before it starts"),
        ({"trajectory_period": "2015/2000"}, "input 'trajectory_period': .*ends before it starts"),
        ({"trajectory_period": [2013, 2015]}, "spans fewer than 4 years"),
        ({"state_recent_period": [2013]}, "input 'state_recent_period': .*must be \\[first year, last year\\]"),
        ({"state_recent_period": "13/15"}, "input 'state_recent_period': .*not a year"),
        ({"significance": 0.8}, "input 'significance': Value error, significance 0.8 must be one of"),
        ({"trend_method": "median"}, "input 'trend_method'"),
        ({"transition_matrix": [[0] * 7] * 6}, "input 'transition_matrix': List should have at least 7 items"),
        ({"transition_matrix": [[0] * 7] * 6 + [[0, 2, 0, 0, 0, 0, 0]]}, "input 'transition_matrix.6.1'"),
        ({"performance_threshold": 1.5}, "input 'performance_threshold'"),
        ({"reporting_period": {"years": [2016, 2019], "colour": 1}}, "input 'reporting_period.colour'"),
        ({"ndvi": "x"}, "input 'ndvi': Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_parse_errors_name_the_input(data, message):
    with pytest.raises(InvalidRequest, match=message):
        PROCESS.parse(data)


def test_reporting_period_defaults_follow_trends_earth():
    periods = PROCESS.parse({"reporting_period": {"years": [2016, 2019]}}).reporting()
    assert periods is not None and periods.label == "reporting"
    assert (
        periods.trajectory,
        periods.state_baseline,
        periods.state_recent,
        periods.performance,
    ) == ((2004, 2019), (2004, 2015), (2016, 2019), (2004, 2019))
    assert (periods.land_cover, periods.soc, periods.time_period) == (
        (2015, 2019),
        (2020, 2019),
        "2016-2019",
    )
    explicit = PROCESS.parse({"reporting_period": {"years": [2016, 2020], "soc_baseline_year": 2000,
                                                   "state_recent_period": [2018, 2020]}}).reporting()  # fmt: skip
    assert explicit.soc == (2000, 2020) and explicit.state_recent == (2018, 2020)


def test_reporting_period_that_leaves_no_state_baseline_is_refused():
    inputs = PROCESS.parse(
        {"reporting_period": {"years": [2016, 2019], "trajectory_period": [2017, 2019]}}
    )
    with pytest.raises(
        InvalidRequest,
        match=r"'reporting_period\.trajectory_period' \[2017, 2019\] spans fewer than 4",
    ):
        inputs.reporting()
    inputs = PROCESS.parse(
        {"trajectory_period": [2000, 2003], "reporting_period": {"years": [2016, 2019]}}
    )
    with pytest.raises(
        InvalidRequest,
        match=r"'reporting_period\.state_baseline_period' resolves to \[2016, 2015\]",
    ):
        inputs.reporting()


# --- runs on the demo archive ------------------------------------------------------------------------

RUN = {"reporting_period": {"years": [2016, 2020], "soc_baseline_year": 2000}}


def _run(cube, data: dict[str, Any]) -> dict[str, Any]:
    with local_context(Services.of(cube)) as ctx:
        return PROCESS.run_plan(PROCESS.prepare(data, ctx.cube), ctx).document


@pytest.fixture(scope="module")
def run(demo) -> tuple[Any, dict, dict[str, Any]]:
    cube, truth = demo
    return cube, truth, _run(cube, RUN)


def _raster(cube, product: str):
    data = cube.load(product, chunks=None)
    band = next(iter(data.data_vars))
    return data[band].values[0], data.odc.geobox


def _event(cube, name: str, geobox) -> np.ndarray:
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    geometry = next(f["geometry"] for f in events["features"] if f["id"] == name)
    return rasterize(Geometry(geometry, "EPSG:4326").to_crs(geobox.crs), geobox).values


@pytest.mark.slow
def test_the_rangeland_is_degraded_by_its_declining_trajectory(run):
    cube, truth, document = run
    sdg, geobox = _raster(cube, document["collections"]["sdg"])
    trajectory, _ = _raster(cube, document["collections"]["trajectory"])
    lpd, _ = _raster(cube, document["collections"]["lpd"])
    rangeland = _event(cube, "rangeland", geobox)
    area = pixel_area_km2(geobox)
    expected = truth["rangeland_degradation"]["area_km2"]
    assert area[rangeland & (sdg == -1)].sum() == pytest.approx(expected, rel=0.05)
    assert np.mean(trajectory[rangeland] == -1) > 0.95
    assert np.mean(lpd[rangeland] == 1) > 0.95


@pytest.mark.slow
def test_the_deforested_patch_is_degraded_through_land_cover(run):
    cube, truth, document = run
    land_cover, geobox = _raster(cube, document["collections"]["land_cover"])
    sdg, _ = _raster(cube, document["collections"]["sdg"])
    patch = _event(cube, "deforestation", geobox)
    area = pixel_area_km2(geobox)
    expected = truth["deforestation"]["area_km2"]  # the part of the box that was forest
    assert area[patch & (land_cover == -1)].sum() == pytest.approx(expected, rel=0.05)
    assert area[patch & (land_cover == -1) & (sdg == -1)].sum() == pytest.approx(expected, rel=0.05)


@pytest.mark.slow
def test_soil_carbon_loss_matches_the_truth(run):
    cube, truth, document = run
    soc, geobox = _raster(cube, document["collections"]["soc"])
    degraded = pixel_area_km2(geobox)[soc == -1].sum()
    assert int((soc == -1).sum()) == truth["soil_organic_carbon"]["degraded_pixels"]
    assert degraded == pytest.approx(truth["soil_organic_carbon"]["degraded_km2"], rel=0.01)
    assert not (soc == 1).any()


@pytest.mark.slow
def test_per_unit_table_adds_up(run):
    cube, truth, document = run
    summary = document["summary"]
    assert (summary["indicator"], summary["series"], summary["time_period"]) == (
        "15.3.1",
        "AG_LND_DGRD",
        "2016-2020",
    )
    rows = {row["unit_id"]: row for row in summary["rows"]}
    assert set(rows) == {"D1", "D2", "D3", "D4"}
    for row in rows.values():
        land = row["degraded_km2"] + row["stable_km2"] + row["improved_km2"] + row["no_data_km2"]
        assert row["land_km2"] == pytest.approx(land, abs=1e-5)
        assert row["area_km2"] == pytest.approx(land + row["water_km2"], abs=1e-5)
        assert row["degraded_pct"] == pytest.approx(
            100 * row["degraded_km2"] / row["land_km2"], abs=1e-3
        )
        assessed = row["degraded_km2"] + row["stable_km2"] + row["improved_km2"]
        assert row["degraded_pct_excluding_no_data"] == pytest.approx(
            100 * row["degraded_km2"] / assessed, abs=1e-3
        )
        assert row["degraded_pct_of_area"] == pytest.approx(
            100 * row["degraded_km2"] / row["area_km2"], abs=1e-3
        )
        assert row["change_degraded_pct_points"] == pytest.approx(
            row["reporting_degraded_pct"] - row["degraded_pct"], abs=1e-3
        )
    assert sum(r["land_km2"] for r in rows.values()) == pytest.approx(truth["land_km2"] - truth["lake"]["permanent_km2"]["2000"],
                                                                     rel=0.03)  # fmt: skip
    assert rows["D3"]["degraded_pct"] > max(
        rows[u]["degraded_pct"] for u in ("D1", "D2", "D4")
    )  # the rangeland
    sdmx_path = cube.settings.data_dir / "jobs" / summary["sdmx_csv"].split("/jobs/", 1)[1]
    sdmx = sdmx_path.read_text().splitlines()
    assert sdmx[0].split(",")[:3] == ["DATAFLOW", "FREQ", "SERIES"]
    assert all(",AG_LND_DGRD," in line and ",PT," in line for line in sdmx[1:])
    assert summary["features_collection"].startswith("sdg1531_")


@pytest.mark.slow
def test_reporting_period_status_is_registered(run):
    cube, _, document = run
    assert document["periods"]["reporting"]["trajectory"] == [2005, 2020]
    for part in (
        "status",
        "reporting_sdg",
        "reporting_lpd",
        "reporting_land_cover",
        "reporting_soc",
    ):
        assert cube.dc.index.products.get_by_name(document["collections"][part]) is not None
    status, _ = _raster(cube, document["collections"]["status"])
    baseline, _ = _raster(cube, document["collections"]["sdg"])
    assert np.all(status[baseline == -1] <= 0)  # a degraded baseline is at best stable
    assert set(np.unique(status[np.isfinite(status)]).tolist()) <= {-1.0, 0.0, 1.0}


@pytest.mark.slow
def test_a_users_lpd_product_replaces_productivity(run):
    cube, _, document = run
    again = _run(cube, {"lpd_product": document["collections"]["lpd"]})
    assert "trajectory" not in again["collections"]
    first, geobox = _raster(cube, document["collections"]["sdg"])
    second, geobox_again = _raster(cube, again["collections"]["sdg"])
    assert geobox_again == geobox
    np.testing.assert_array_equal(second, first)
    assert [r["degraded_km2"] for r in again["summary"]["rows"]] == [
        r["degraded_km2"] for r in document["summary"]["rows"]
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"ndvi_product": "nope"}, InvalidRequest, "input 'ndvi_product': unknown product 'nope'"),
        ({"soc_product": "nope"}, InvalidRequest, "input 'soc_product': unknown product 'nope'"),
        ({"lpd_product": "nope"}, InvalidRequest, "input 'lpd_product': unknown product 'nope'"),
        ({"red_band": "B99"}, InvalidRequest, "input 'red_band': product 'sr_annual' has no band 'B99'"),
        ({"trajectory_period": [1990, 2015]}, NoData,
         "input 'trajectory_period' 1990-2015 lies outside the years of 'sr_annual' \\(2000-2024\\)"),
        ({"state_recent_period": [2013, 2030]}, NoData, "input 'state_recent_period' 2013-2030"),
        ({"land_cover_target_year": 1999}, NoData, "input 'land_cover_target_year': 'land_cover' has no dataset in 1999"),
        ({"soc_target_year": 2015}, NoData,
         "input 'soc_target_year': 'soil_organic_carbon' has no dataset in 2015 \\(it has 2000, 2020\\)"),
        ({"reporting_period": {"years": [2020, 2030]}}, NoData, "input 'reporting_period.trajectory_period'"),
        ({"bbox": [-30.0, 10.0, -29.9, 10.1], "units_layer": None}, NoData,
         "input 'bbox': product 'sr_annual' has no data in the requested area"),
        ({"units_layer": "nope"}, InvalidRequest, "units_layer 'nope'"),
    ],
)  # fmt: skip
def test_check_refuses_before_any_work(demo, data, error, message):
    cube, _ = demo
    before = {p.name for p in cube.products()}
    with pytest.raises(error, match=message):
        PROCESS.prepare(data, cube)
    assert {p.name for p in cube.products()} == before


@pytest.mark.slow
def test_a_job_on_the_dask_cluster(demo):
    """``run_job`` as a Dask task: ``ctx.compute`` fans the graph out to the cluster from inside it."""
    cube, truth = demo
    settings, services = cube.settings, Services.of(cube)
    job_id = str(uuid.uuid4())
    inputs = {"geometry": _rangeland_geometry(cube), "units_layer": None}
    services.jobs.add(job_id, "sdg-15-3-1", {"inputs": inputs})
    plan = PROCESS.prepare(inputs, cube)
    future = submit_job(services, job_id, PROCESSES["sdg-15-3-1"], plan)
    assert future.result(timeout=300) == "successful"
    job = services.jobs.get(job_id)
    assert (job.status, job.progress) == ("successful", 100)
    document = json.loads(Path(job_dir(settings, job_id) / "result.json").read_text())
    (row,) = document["summary"]["rows"]
    assert row["unit_id"] == "area"
    assert row["degraded_km2"] == pytest.approx(
        truth["rangeland_degradation"]["area_km2"], rel=0.05
    )


def _rangeland_geometry(cube) -> dict[str, Any]:
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    return next(f["geometry"] for f in events["features"] if f["id"] == "rangeland")
