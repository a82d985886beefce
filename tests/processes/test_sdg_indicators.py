"""The 6.6.1, 15.1.1, 11.3.1, 13.1.1 and burnt-area processes: descriptions generated from their input
models, input parsing, and (slow) runs on the demo archive compared with its planted truth, the
refusals ``check`` makes before any work, and one job through Dask distributed."""

from __future__ import annotations

import csv
import json
import math
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Transformer
from shapely import contains_xy
from shapely.geometry import shape
from shapely.ops import transform

from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.landscape import GRIDS, make_landscape
from sdgcube.errors import InvalidRequest
from sdgcube.indicators.forest import forest_from_land_cover
from sdgcube.processes.burnt_area import BurntArea
from sdgcube.processes.executor import job_dir, load_processor, submit_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.sdg_6_6_1 import Sdg661
from sdgcube.processes.sdg_11_3_1 import Sdg1131
from sdgcube.processes.sdg_13_1_1 import Sdg1311
from sdgcube.processes.sdg_15_1_1 import Sdg1511
from sdgcube.processes.services import Services

PROCESSORS = {"sdg-6-6-1": Sdg661, "sdg-15-1-1": Sdg1511, "sdg-11-3-1": Sdg1131, "sdg-13-1-1": Sdg1311,
              "burnt-area": BurntArea}  # fmt: skip
DEMO_PRODUCTS = {"sr_annual", "land_cover", "population", "built_up", "surface_water"}
SQUARE = {"type": "Polygon", "coordinates": [[[177.95, -17.62], [177.96, -17.62], [177.96, -17.61], [177.95, -17.61],
                                              [177.95, -17.62]]]}  # fmt: skip


@pytest.fixture
def run_process(build_processor):
    """``run_process(process_id, inputs)``: the result document of a process run in this process."""

    def run(process_id: str, data: dict[str, Any]) -> dict[str, Any]:
        mimetype, document = build_processor(PROCESSORS[process_id], process_id).execute(data)
        assert mimetype == "application/json"
        return document

    return run


# --- descriptions and parsing -----------------------------------------------------------------------------


def test_the_registry_names_every_process():
    for process_id, cls in PROCESSORS.items():
        assert PROCESSES[process_id] == f"{cls.__module__}.{cls.__name__}"
        assert load_processor(PROCESSES[process_id]).metadata["id"] == process_id


@pytest.mark.parametrize("process_id", PROCESSORS)
def test_descriptions_come_from_the_input_models(process_id):
    cls = PROCESSORS[process_id]
    metadata = cls({"name": process_id}).metadata
    assert metadata["id"] == process_id and metadata["jobControlOptions"][1] == "async-execute"
    assert set(metadata["inputs"]) == set(cls.Inputs.model_fields)
    assert {"bbox", "geometry", "units_layer", "unit_ids"} <= set(metadata["inputs"])
    for name, spec in metadata["inputs"].items():
        assert spec["description"], f"{process_id} input {name!r} has no description"
        assert "anyOf" not in spec["schema"]
    products = [
        spec["schema"].get("default")
        for name, spec in metadata["inputs"].items()
        if name.endswith("_product")
    ]
    assert (
        set(products) - {None} <= DEMO_PRODUCTS
    )  # every product is a parameter, defaulting to the demo's
    cls({"name": process_id}).parse(metadata["example"]["inputs"])


def test_periods_take_every_wire_form_with_a_default():
    schema = Sdg661({"name": "x"}).metadata["inputs"]["baseline"]["schema"]
    assert schema["default"] == "2000/2004"
    assert [branch["type"] for branch in schema["oneOf"]] == ["string", "array", "integer"]
    parse = Sdg661({"name": "x"}).parse
    assert parse({"baseline": [2000, 2004]}) == parse({"baseline": "2000/2004"})
    assert parse({"baseline": [2000, 2004]}).baseline.years == (2000, 2001, 2002, 2003, 2004)
    assert parse({"reporting": 2018}).reporting.years == (2018,)


@pytest.mark.parametrize(
    ("process_id", "data", "message"),
    [
        ("sdg-6-6-1", {"baseline": "2004/2000"}, "input 'baseline': .*ends before it starts"),
        ("sdg-6-6-1", {"reporting": "20"}, "input 'reporting': .*period '20' is not a year"),
        ("sdg-6-6-1", {"reporting": [2020]}, r"input 'reporting': .*must be \[first year, last year\]"),
        ("sdg-6-6-1", {"source": "modis"}, "input 'source'"),
        ("sdg-6-6-1", {"baselines": "2000/2004"}, "input 'baselines': Extra inputs are not permitted"),
        ("sdg-15-1-1", {"forest_classes": []}, "input 'forest_classes'"),
        ("sdg-11-3-1", {"year_1": 2020, "year_2": 2000}, "year_2 2000 must come after year_1 2020"),
        ("sdg-13-1-1", {}, "exactly one"),
        ("sdg-13-1-1", {"hazard_product": "x", "hazard_geometry": SQUARE}, "exactly one"),
        ("sdg-13-1-1", {"hazard_geometry": {"type": "Point", "coordinates": [1, 2]}}, "non-empty polygon"),
        ("sdg-13-1-1", {"hazard_product": "x", "hazard_min_value": 2, "hazard_max_value": 1}, "below hazard_min"),
        ("burnt-area", {"pre": "2018", "post": "2018"}, "pre '2018' must end before post '2018'"),
        ("burnt-area", {"severity_bounds": [0.5, 0.4, 0.3, 0.2, 0.1]}, "strictly ascending"),
        ("burnt-area", {"severity_bounds": [0.1]}, "input 'severity_bounds'"),
    ],
)  # fmt: skip
def test_parse_errors_name_the_input(process_id, data, message):
    with pytest.raises(InvalidRequest, match=message):
        PROCESSORS[process_id]({"name": process_id}).parse(data)


# --- runs on the demo archive ------------------------------------------------------------------------------


def _event(cube, name: str) -> dict[str, Any]:
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    return next(f["geometry"] for f in events["features"] if f["id"] == name)


def _outputs(cube, document: dict[str, Any]) -> Path:
    prefix = document["summary"]["features_collection"].split("_")[-2]
    (folder,) = (cube.settings.data_dir / "jobs").glob(f"{prefix}*/outputs")
    return folder


def _row(document: dict[str, Any], unit_id: str) -> dict[str, Any]:
    return next(r for r in document["summary"]["rows"] if r["unit_id"] == unit_id)


@pytest.mark.slow
def test_6_6_1_over_the_lake_matches_the_planted_change(demo, run_process):
    cube, truth = demo
    lake = truth["lake"]
    document = run_process("sdg-6-6-1", {"geometry": _event(cube, "lake"), "units_layer": None})
    total = document["total"]
    assert total["permanent_change_pct"] == pytest.approx(lake["permanent_change_pct"], abs=2.0)
    assert total["baseline_permanent_km2"] == pytest.approx(
        lake["baseline_2000_2004_permanent_km2"], rel=0.02
    )
    assert total["reporting_permanent_km2"] == pytest.approx(
        lake["reporting_2020_2024_permanent_km2"], rel=0.02
    )
    seasonal = np.mean([lake["seasonal_km2"][str(y)] for y in range(2020, 2025)])
    assert total["reporting_seasonal_km2"] == pytest.approx(seasonal, rel=0.02)
    assert total["baseline_seasonal_km2"] == pytest.approx(0.0, abs=0.002)
    yearly = {row["year"]: row for row in document["yearly"]}
    assert (
        sorted(yearly) == list(range(2000, 2025)) and document["years_without_observations"] == []
    )
    for year in range(2000, 2025):
        assert yearly[year]["permanent_km2"] == pytest.approx(
            lake["permanent_km2"][str(year)], rel=0.03, abs=0.002
        )
        assert yearly[year]["seasonal_km2"] == pytest.approx(
            lake["seasonal_km2"][str(year)], rel=0.03, abs=0.002
        )


@pytest.mark.slow
def test_6_6_1_per_unit_tables_and_rasters(demo, run_process):
    cube, truth = demo
    document = run_process("sdg-6-6-1", {})
    assert [r["unit_id"] for r in document["summary"]["rows"]] == ["D1", "D2", "D3", "D4"]
    d1 = _row(document, "D1")  # the lake lies in the north-west district
    assert d1["permanent_change_pct"] == pytest.approx(
        truth["lake"]["permanent_change_pct"], abs=2.0
    )
    assert _row(document, "D4")["permanent_change_pct"] is None  # no water: no change to state

    with (_outputs(cube, document) / "summary.sdmx.csv").open() as f:
        rows = list(csv.DictReader(f))
    first = rows[0]
    assert (first["SERIES"], first["REF_AREA"], first["TIME_PERIOD"], first["UNIT_MEASURE"]) == (
        "EN_LKRV_PWAC", "D1", "2020-2024", "PT",
    )  # fmt: skip
    assert float(first["OBS_VALUE"]) == pytest.approx(d1["permanent_change_pct"])
    layer = cube.vectors.get_layer(document["summary"]["features_collection"])
    assert layer.feature_count == 4  # one feature per district row

    classes = cube.load(document["collections"]["classes"], chunks=None).classes.values[0]
    permanent_2024 = truth["lake"]["permanent_km2"]["2024"] / truth["pixel_area_km2"]
    inside = np.isfinite(classes)
    assert 0 < inside.mean() < 1  # NaN outside the districts (the sea)
    assert (classes == 2).sum() == pytest.approx(permanent_2024, rel=0.03)
    change = cube.load(document["collections"]["change"], chunks=None).change.values[0]
    assert np.nanmin(change) == -1.0 and np.nanmax(change) == 0.0  # water lost, none gained


@pytest.mark.slow
def test_6_6_1_from_mndwi_of_the_annual_composites(demo, run_process):
    cube, truth = demo
    document = run_process(
        "sdg-6-6-1", {"source": "mndwi", "geometry": _event(cube, "lake"), "units_layer": None}
    )
    total = document["total"]
    # One composite a year: water in it is permanent; clouds and fill stripes leave gaps.
    assert total["permanent_change_pct"] == pytest.approx(
        truth["lake"]["permanent_change_pct"], abs=5.0
    )
    assert total["reporting_seasonal_km2"] == 0.0


@pytest.mark.slow
def test_15_1_1_drops_by_the_deforested_area_in_2012(demo, run_process):
    cube, truth = demo
    document = run_process("sdg-15-1-1", {})
    total = {row["year"]: row for row in document["total"]}
    assert sorted(total) == list(range(2000, 2025))
    forest_before = [total[y]["forest_km2"] for y in range(2000, 2012)]
    assert max(forest_before) - min(forest_before) < 1e-9
    lost_km2 = total[2011]["forest_km2"] - total[2012]["forest_km2"]
    assert lost_km2 == pytest.approx(truth["deforestation"]["area_km2"], rel=0.01)
    drop_pct = total[2011]["forest_pct"] - total[2012]["forest_pct"]
    assert drop_pct == pytest.approx(
        100 * truth["deforestation"]["area_km2"] / total[2012]["land_km2"], abs=0.1
    )
    assert total[2024]["forest_km2"] == pytest.approx(total[2012]["forest_km2"], rel=1e-9)
    assert all(r["nodata_km2"] == 0 for r in document["total"])
    row = _row(document, "D2")  # the cleared patch lies in the north-east district
    assert row["year"] == 2024 and row["first_year"] == 2000
    assert row["forest_km2_change"] == pytest.approx(-lost_km2, rel=1e-6)
    change = cube.load(document["collections"]["change"], chunks=None).change.values[0]
    assert (change == -1).sum() == truth["deforestation"]["pixels"] and np.nanmax(change) == 0


@pytest.mark.slow
def test_15_1_1_from_an_ndvi_threshold(demo, run_process):
    cube, _ = demo
    document = run_process("sdg-15-1-1", {"source": "ndvi", "years": "2010/2013"})
    by_lc = {r["year"]: r for r in run_process("sdg-15-1-1", {"years": "2010/2013"})["total"]}
    by_ndvi = {r["year"]: r for r in document["total"]}
    assert by_ndvi[2013]["nodata_km2"] > 0  # clouds, and the fill stripes of 2011
    # Pixel by pixel, NDVI >= 0.7 is the land cover's forest and NDVI < 0 its water …
    ndvi_classes = cube.load(document["collections"]["forest"], chunks=None).forest.values[0]
    lc = cube.load("land_cover", time="2013", chunks=None).land_cover.values[0]
    lc_classes = forest_from_land_cover(lc).astype("float32")
    seen = np.isfinite(ndvi_classes)
    assert seen.mean() > 0.3 and (ndvi_classes[seen] == lc_classes[seen]).mean() > 0.999
    # … but big clouds hide forest and other land unevenly, so proportions agree only roughly.
    for year in (2010, 2013):
        assert by_ndvi[year]["forest_pct"] == pytest.approx(by_lc[year]["forest_pct"], abs=2.0)


def _sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.mark.slow
@pytest.mark.parametrize("years", ["2000-2020", "2010-2020"])
def test_11_3_1_lcrpgr_matches_the_truth_to_three_figures(demo, years, run_process):
    cube, truth = demo
    year_1, year_2 = (int(y) for y in years.split("-"))
    document = run_process("sdg-11-3-1", {"year_1": year_1, "year_2": year_2})
    urban = truth["urban"]
    total = document["total"]
    assert _sig3(total["lcrpgr"]) == _sig3(urban["lcrpgr"][years])
    assert total["population_1"] == pytest.approx(urban["population"][str(year_1)], rel=1e-6)
    assert total["population_2"] == pytest.approx(urban["population"][str(year_2)], rel=1e-6)
    town = _row(document, "D4")  # the whole town lies in the south-east district
    assert town["built_up_km2_2"] == pytest.approx(urban["built_up_km2"][str(year_2)], rel=0.005)
    assert town["lcrpgr"] > total["lcrpgr"] / 3  # the district grew, but so did its share of people
    expected = (math.log(town["built_up_km2_2"] / town["built_up_km2_1"])
                / math.log(town["population_2"] / town["population_1"]))  # fmt: skip
    assert town["lcrpgr"] == pytest.approx(expected, rel=1e-4)
    expansion = cube.load(document["collections"]["expansion"], chunks=None).expansion.values[0]
    new_km2 = (expansion == 2).sum() * truth["pixel_area_km2"]
    assert new_km2 == pytest.approx(
        urban["built_up_km2"][str(year_2)] - urban["built_up_km2"][str(year_1)], rel=0.01
    )


def _burn_truth_km2(truth: dict[str, Any], part: str) -> float:
    return truth["burn_scar"][f"{part}_pixels"] * truth["pixel_area_km2"]


@pytest.mark.slow
def test_burnt_area_over_the_scar_matches_core_and_ring(demo, run_process):
    cube, truth = demo
    document = run_process(
        "burnt-area", {"geometry": _event(cube, "burn_scar"), "units_layer": None}
    )
    total = document["total"]
    assert total["burnt_km2"] == pytest.approx(truth["burn_scar"]["area_km2"], rel=0.05)
    assert total["high_km2"] == pytest.approx(_burn_truth_km2(truth, "core"), rel=0.05)  # dNBR 0.85
    assert total["moderate_low_km2"] == pytest.approx(
        _burn_truth_km2(truth, "ring"), rel=0.05
    )  # dNBR 0.35
    assert document["summary"]["series"] == "EN_LND_BURNT"
    severity = cube.load(document["collections"]["severity"], chunks=None).severity.values[0]
    assert set(np.unique(severity[np.isfinite(severity)])) <= {0.0, 2.0, 4.0}
    dnbr = cube.load(document["collections"]["dnbr"], chunks=None).dnbr.values[0]
    assert np.nanmax(dnbr) == pytest.approx(0.85, abs=0.06)


@pytest.mark.slow
def test_burnt_area_per_district(demo, run_process):
    _, truth = demo
    document = run_process("burnt-area", {})
    # Island-wide, the town's yearly growth reads as burnt too (grass to pavement lowers NBR by ~0.3).
    assert document["total"]["burnt_km2"] == pytest.approx(truth["burn_scar"]["area_km2"], rel=0.05)
    rows = {r["unit_id"]: r for r in document["summary"]["rows"]}
    assert rows["D1"]["burnt_km2"] == 0 and rows["D3"]["burnt_km2"] == 0
    assert (
        rows["D2"]["high_km2"] > 0 and rows["D4"]["high_km2"] > 0
    )  # the scar straddles the two districts


def _population_inside(cube, polygon: dict[str, Any], year: int) -> tuple[float, float]:
    """Persons inside a WGS 84 polygon (pixel centres) and in all, from the population raster itself."""
    data = cube.load("population", time=str(year), chunks=None)
    geobox = data.odc.geobox
    to_grid = Transformer.from_crs("EPSG:4326", geobox.crs, always_xy=True).transform
    ny, nx = geobox.shape
    xs, ys = geobox.affine * np.meshgrid(np.arange(nx) + 0.5, np.arange(ny) + 0.5)
    inside = contains_xy(transform(to_grid, shape(polygon)), xs, ys)
    values = data.population.values[0]
    return float(np.nansum(values[inside])), float(np.nansum(values))


@pytest.mark.slow
def test_13_1_1_with_the_scar_polygon_as_hazard(demo, run_process):
    cube, _ = demo
    scar = _event(cube, "burn_scar")
    document = run_process("sdg-13-1-1", {"hazard_geometry": scar})
    affected, population = _population_inside(cube, scar, 2020)
    total = document["total"]
    assert total["population"] == pytest.approx(population, rel=1e-6)
    assert total["affected_persons"] == pytest.approx(affected, rel=0.01)
    assert total["affected_per_100k"] == pytest.approx(affected / population * 1e5, rel=0.01)
    assert (
        document["summary"]["series"] == "VC_DSR_DAFF"
        and document["summary"]["time_period"] == "2020"
    )
    assert _row(document, "D1")["affected_per_100k"] == 0.0


@pytest.mark.slow
def test_13_1_1_with_a_burnt_area_result_as_hazard(demo, run_process):
    cube, truth = demo
    burnt = run_process("burnt-area", {"geometry": _event(cube, "burn_scar"), "units_layer": None})
    document = run_process(
        "sdg-13-1-1", {"hazard_product": burnt["collections"]["severity"], "units_layer": None}
    )
    ls = make_landscape(GRIDS[truth["size"]], np.random.default_rng(truth["seed"]))
    people = ts.population(ls, 2020)
    expected = people[ls.burn_core | ls.burn_ring].sum() / people.sum() * 1e5
    assert document["total"]["affected_per_100k"] == pytest.approx(expected, rel=0.03)
    assert document["summary"]["time_period"] == "2018"


@pytest.mark.slow
def test_results_carry_their_lineage(demo, run_process):
    cube, _ = demo
    document = run_process("sdg-11-3-1", {"year_1": 2010, "year_2": 2020, "unit_ids": ["D4"]})
    (dataset,) = cube.datasets(document["collections"]["expansion"])
    properties = dataset.metadata_doc["properties"]
    assert properties["sdgcube:process"] == "sdg-11-3-1"
    assert properties["sdgcube:inputs"]["year_1"] == 2010 and properties["sdgcube:inputs"][
        "unit_ids"
    ] == ["D4"]
    years = ("2010", "2020")
    expected = {
        str(ds.id) for p in ("built_up", "population") for y in years for ds in cube.datasets(p, y)
    }
    assert set(properties["sdgcube:input_datasets"]) == expected
    assert [r["unit_id"] for r in document["summary"]["rows"]] == ["D4"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("process_id", "data", "error"),
    [
        ("sdg-6-6-1", {"water_product": "nope"}, "input 'water_product': unknown product 'nope'"),
        ("sdg-6-6-1", {"baseline": "1990/1994"}, "input 'baseline': product 'surface_water' has no datasets in 1990"),
        ("sdg-6-6-1", {"water_band": "red"}, "input 'water_band': product 'surface_water' has no band 'red'"),
        ("sdg-15-1-1", {"source": "ndvi", "nir_band": "nir9"}, "input 'nir_band'"),
        ("sdg-15-1-1", {"years": "2030/2035"}, "input 'years': product 'land_cover' has no datasets in 2030…2035"),
        ("sdg-11-3-1", {"year_1": 2005}, "input 'year_1': product 'population' has no datasets in 2005"),
        ("sdg-11-3-1", {"bbox": [10, 10, 10.1, 10.1], "units_layer": None}, "input 'bbox': product 'built_up' has no"),
        ("sdg-13-1-1", {"hazard_product": "nope"}, "input 'hazard_product': unknown product 'nope'"),
        ("sdg-13-1-1", {"hazard_product": "land_cover", "hazard_datetime": "1999"}, "hazard_datetime '1999'"),
        ("sdg-13-1-1", {"hazard_product": "land_cover", "hazard_datetime": "soon"}, "input 'hazard_datetime': time"),
        ("burnt-area", {"post": "2030"}, "input 'post'"),
        ("burnt-area", {"units_layer": "districts"}, "units_layer 'districts' is not a vector layer"),
        ("burnt-area", {"bbox": [170, -30, 179.9, -10]}, "more than this server's limit"),
    ],
)  # fmt: skip
def test_check_refuses_before_any_work(demo, process_id, data, error, run_process):
    cube, _ = demo
    before = {p.name for p in cube.products()}
    with pytest.raises(Exception, match=error) as caught:
        run_process(process_id, data)
    assert type(caught.value).__module__ == "sdgcube.errors"
    assert {p.name for p in cube.products()} == before


@pytest.mark.slow
def test_a_job_on_dask_distributed(demo):
    """The job runs inside a Dask worker, where ``ctx.compute`` hands the graph to the cluster."""
    cube, truth = demo
    settings, services = cube.settings, Services.of(cube)
    job_id = str(uuid.uuid4())
    inputs = {"geometry": _event(cube, "burn_scar"), "units_layer": None}
    services.jobs.add(job_id, "burnt-area", {"inputs": inputs})
    plan = BurntArea({"name": "burnt-area"}).prepare(inputs, cube)
    future = submit_job(services, job_id, PROCESSES["burnt-area"], plan)
    assert future.result(timeout=300) == "successful", services.jobs.get(job_id).message
    document = json.loads((job_dir(settings, job_id) / "result.json").read_text())
    assert document["total"]["burnt_km2"] == pytest.approx(truth["burn_scar"]["area_km2"], rel=0.05)
    assert (job_dir(settings, job_id) / "outputs" / "summary.csv").exists()
