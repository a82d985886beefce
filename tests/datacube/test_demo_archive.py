"""The small demo archive, indexed on each backend: the planted events are where the truth says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pystac
import pytest

from sdgcube.datacube.cog import sha256_multihash
from sdgcube.datacube.indexing import write_archive_catalog
from sdgcube.datacube.products import builtin_product_names

pytestmark = pytest.mark.slow


def test_every_builtin_product_has_datasets(demo):
    cube, _ = demo
    for name in builtin_product_names():
        assert cube.datasets(name), name
    assert len(cube.datasets("sr_annual")) == 25
    assert len(cube.datasets("surface_water", time="2020")) == 4


def test_lake_water_fraction_by_year(demo):
    cube, truth = demo
    lake = truth["lake"]
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    geometry = next(f["geometry"] for f in events["features"] if f["id"] == "lake")
    water = cube.load("surface_water", geometry=geometry, chunks=None).water
    for year in (2000, 2009, 2015, 2024):
        obs = water.sel(time=str(year)).values
        inside = obs[:, (obs != 255).any(axis=0)]
        valid = inside != 255
        region = (valid.sum(axis=0) > 0).sum()
        permanent = ((inside == 1) | ~valid).all(axis=0) & valid.any(axis=0)
        fraction = (inside == 1).sum() / valid.sum()
        # The geometry's bounding box also holds dry land around the lake: compare areas, not shares.
        assert permanent.sum() * truth["pixel_area_km2"] == pytest.approx(
            lake["permanent_km2"][str(year)], rel=0.02
        )
        assert fraction * region >= lake["region_pixels"] * lake["water_fraction"][str(year)] * 0.9


def test_permanent_water_change_between_periods(demo):
    cube, truth = demo
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    lake = next(f["geometry"] for f in events["features"] if f["id"] == "lake")
    # The lake lies inland, so the box around it holds no sea.
    water = cube.load("surface_water", geometry=lake, chunks=None).water

    def permanent_km2(year: int) -> float:
        obs = water.sel(time=str(year)).values
        permanent = np.where(obs == 255, True, obs == 1).all(axis=0) & (obs != 255).any(axis=0)
        return float(permanent.sum()) * truth["pixel_area_km2"]

    baseline = np.mean([permanent_km2(y) for y in range(2000, 2005)])
    reporting = np.mean([permanent_km2(y) for y in range(2020, 2025)])
    assert baseline == pytest.approx(truth["lake"]["baseline_2000_2004_permanent_km2"], rel=1e-6)
    assert (reporting - baseline) / baseline * 100 == pytest.approx(
        truth["lake"]["permanent_change_pct"], abs=0.01
    )


def test_deforestation_patch_changes_class_in_its_year(demo):
    cube, truth = demo
    event = truth["deforestation"]
    year = event["year"]
    lc = cube.load("land_cover", time=(str(year - 1), str(year)), chunks=None).land_cover.values
    changed = (lc[0] == event["from_class"]) & (lc[1] == event["to_class"])
    assert changed.sum() == event["pixels"]


def test_rangeland_ndvi_trend_from_the_cloud_masked_archive(demo):
    cube, truth = demo
    event = truth["rangeland_degradation"]
    events = json.loads((cube.settings.data_dir / "demo" / "events.geojson").read_text())
    geometry = next(f["geometry"] for f in events["features"] if f["id"] == "rangeland")
    inner = cube.load(
        "sr_annual",
        geometry=geometry,
        measurements=["red", "nir08"],
        mask_nodata=True,
        mask_clouds=True,
        chunks=None,
    )
    inner_ndvi = ((inner.nir08 - inner.red) / (inner.nir08 + inner.red)).values
    grass = (
        cube.load("land_cover", geometry=geometry, time="2000", chunks=None).land_cover.values[0]
        == 2
    )
    series = np.array([np.nanmedian(layer[grass]) for layer in inner_ndvi])
    years = inner.time.dt.year.values.astype(float)
    slope = np.polyfit(years, series, 1)[0]
    assert slope == pytest.approx(event["ndvi_slope_per_year"], abs=0.002)


def test_built_up_area_and_population_match_truth(demo):
    cube, truth = demo
    urban = truth["urban"]
    built = cube.load("built_up", chunks=None).built_up
    for year, km2 in urban["built_up_km2"].items():
        assert (built.sel(time=year).values == 1).sum() * truth["pixel_area_km2"] == pytest.approx(
            km2, rel=1e-9
        )
    pop = cube.load("population", chunks=None).population
    for year, total in urban["population"].items():
        assert float(pop.sel(time=year).values.astype(np.float64).sum()) == pytest.approx(
            total, rel=1e-5
        )
    assert urban["lcrpgr"]["2000-2020"] > 1.5


def test_burn_scar_severity(demo):
    cube, truth = demo
    event = truth["burn_scar"]
    sr = cube.load("sr_annual", time=(str(event["pre_year"]), str(event["year"])),
                   measurements=["nir08", "swir22"], mask_nodata=True, mask_clouds=True, chunks=None)  # fmt: skip
    nbr = ((sr.nir08 - sr.swir22) / (sr.nir08 + sr.swir22)).values
    land = (
        cube.load("land_cover", time=str(event["pre_year"]), chunks=None).land_cover.values[0] != 7
    )
    dnbr = np.where(land, nbr[0] - nbr[1], np.nan)
    assert np.nansum(dnbr >= 0.66) == pytest.approx(event["core_pixels"], rel=0.1)
    burnt = np.nansum(dnbr >= 0.27)
    assert burnt == pytest.approx(event["core_pixels"] + event["ring_pixels"], rel=0.1)


def test_soil_carbon_loss(demo):
    cube, truth = demo
    soc = cube.load("soil_organic_carbon", mask_nodata=True, chunks=None).soc.values
    change = (soc[1] - soc[0]) / soc[0] * 100
    assert np.nansum(change <= -10) == truth["soil_organic_carbon"]["degraded_pixels"]


def test_chips_and_labels(demo):
    cube, truth = demo
    rgb = cube.datasets("hires_rgb")
    labels = cube.datasets("building_labels")
    assert len(rgb) == len(labels) == len(truth["chips"])
    total = sum(chip["building_pixels"] for chip in truth["chips"])
    mosaic = cube.load("building_labels", chunks=None).building.values
    # the pixels either side of a shared wall are labelled background
    assert 0.95 * total < (mosaic == 1).sum() < total
    assert cube.load("hires_rgb", chunks=None).odc.geobox.resolution.x == 0.5


def test_stac_catalog_lists_every_dataset_with_valid_checksums(demo):
    cube, _ = demo
    catalog = pystac.Catalog.from_file(str(cube.settings.archive_dir / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    # The demo's own datasets (job results registered later by other tests are not in its catalog).
    manifest = json.loads((cube.settings.data_dir / "demo" / "manifest.json").read_text())
    assert sorted(i.id for i in items) == sorted(d["id"] for d in manifest["datasets"])
    item = next(i for i in items if i.collection_id == "sr_annual")
    assert {"blue", "green", "red", "nir08", "swir16", "swir22", "pixel_quality"} == set(
        item.assets
    )
    red = item.assets["red"]
    assert (
        red.extra_fields["proj:code"] == "EPSG:32760"
        and red.extra_fields["raster:bands"][0]["scale"] == 0.0001
    )
    assert red.extra_fields["file:checksum"] == sha256_multihash(Path(red.get_absolute_href()))
    assert any("projection" in ext for ext in item.stac_extensions)


def test_cog_layout(demo):
    import rasterio

    cube, _ = demo
    ds = cube.datasets("sr_annual")[0]
    path = Path(ds.uri.removeprefix("file://")).parent / "red.tif"
    with rasterio.open(path) as src:
        assert src.profile["tiled"] and src.compression.name == "deflate"


def test_rewriting_one_collection_gives_the_catalog_a_full_rebuild_gives(demo, tmp_path):
    """An ingest rewrites only its product's collection (and catalog.json): the same files result."""
    cube, _ = demo
    full, one = tmp_path / "full", tmp_path / "one"
    for copy in (full, one):
        shutil.copytree(cube.settings.archive_dir, copy, ignore=shutil.ignore_patterns("*.tif"))
    write_archive_catalog(full)
    (one / "catalog.json").unlink()
    (one / "land_cover" / "collection.json").unlink()
    write_archive_catalog(one, products={"land_cover"})
    documents = sorted(path.relative_to(full) for path in full.glob("**/*.json"))
    assert documents == sorted(path.relative_to(one) for path in one.glob("**/*.json"))
    assert all((full / doc).read_text() == (one / doc).read_text() for doc in documents)
    assert len(documents) > len(cube.datasets("land_cover")) + 2
