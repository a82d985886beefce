"""The index on both backends: idempotent initialisation and the built-in products."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sdgcube.datacube.catalog import summarise_datasets, summarise_products
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.database import product_counts, read_dataset_documents, resolve_index
from sdgcube.datacube.index import init_index
from sdgcube.datacube.indexing import index_items, read_items
from sdgcube.datacube.products import builtin_product_names
from tests.stac_fixtures import landsat_item, sentinel_item


def test_init_is_idempotent_and_adds_every_builtin_product(empty_cube: Cube):
    names = [p.name for p in empty_cube.products()]
    assert set(builtin_product_names()) <= set(names)
    again = init_index(empty_cube.settings)
    assert sorted(p.name for p in again.index.products.get_all()) == sorted(names)


def test_builtin_products_carry_units_nodata_and_flags(empty_cube: Cube):
    sr = empty_cube.product("sr_annual").measurements
    assert sr["red"]["nodata"] == -9999 and sr["red"]["units"] == "1"
    assert set(sr["pixel_quality"]["flags_definition"]) == {
        "fill",
        "cloud",
        "cloud_shadow",
        "water",
    }
    classes = empty_cube.product("land_cover").measurements["land_cover"]["flags_definition"][
        "land_cover"
    ]["values"]
    assert {int(k): v for k, v in classes.items()}[5] == "artificial"


def test_index_stac_catalog_of_two_providers(empty_cube: Cube, tmp_path):
    items = [
        landsat_item(tmp_path / f"ls{m}", datetime(2021, m, 4, tzinfo=UTC), value=7000 + m)
        for m in (3, 4)
    ]
    items.append(sentinel_item(tmp_path / "s2"))
    dc = empty_cube.dc
    assert index_items(dc, read_items(tmp_path)) == 3
    assert index_items(dc, read_items(tmp_path)) == 0
    ls = empty_cube.load("landsat_c2l2_sr", chunks=None, measurements=["red", "sr_b4"])
    assert ls.sizes["time"] == 2 and int(ls.red.isel(time=1).values[0, 0]) == 7004 + 2
    s2 = empty_cube.load("sentinel_2_l2a", measurements=["swir22", "red"], chunks=None)
    assert s2.red.shape == (1, 60, 60) and int(s2.swir22.values[0, 59, 59]) == 1012


def test_several_fresh_indexes_in_one_process(make_settings) -> None:
    """ODC keeps dynamic indexes on a module-global table; a third fresh index used to fail."""
    for _ in range(3):
        dc = init_index(make_settings("embedded"))
        assert sorted(p.name for p in dc.index.products.get_all()) == sorted(
            builtin_product_names()
        )
        dc.close()


def test_product_counts_read_without_odc_agree_with_odc(backend, make_settings, tmp_path) -> None:
    """The listing behind ``sdgcube products`` reads ODC's tables itself: same names, same counts
    of active datasets (an archived one left out, empty products listed) as ODC's own API."""
    settings = make_settings(backend)
    dc = init_index(settings)
    for month in (3, 4, 5):
        landsat_item(tmp_path / f"ls{month}", datetime(2021, month, 4, tzinfo=UTC), value=7000)
    assert index_items(dc, read_items(tmp_path)) == 3
    archived = dc.index.datasets.search(product="landsat_c2l2_sr", limit=1)
    dc.index.datasets.archive([next(iter(archived)).id])
    expected = sorted(
        (p.name, dc.index.datasets.count(product=p.name)) for p in dc.index.products.get_all()
    )
    counts = product_counts(resolve_index(settings))
    assert [(c.name, c.datasets) for c in counts] == expected
    active = dc.find_datasets(product="landsat_c2l2_sr")
    boxes = [ds.extent.to_crs("EPSG:4326").boundingbox for ds in active]
    west, south, east, north = zip(*boxes, strict=True)
    landsat = next(c for c in counts if c.name == "landsat_c2l2_sr")
    assert landsat.bbox == pytest.approx((min(west), min(south), max(east), max(north)), abs=1e-6)
    assert next(c for c in counts if c.name == "sr_annual").bbox is None
    assert ("landsat_c2l2_sr", 2) in expected and ("sr_annual", 0) in expected
    dc.close()


def test_summaries_read_in_bulk_agree_with_odcs_search(backend, make_settings, tmp_path) -> None:
    """The publisher's summaries read the datasets' documents in one query of ODC's tables: the
    same active datasets (an archived one left out), so the same summary as from ODC's search."""
    settings = make_settings(backend)
    dc = init_index(settings)
    for month in (3, 4, 5):
        landsat_item(tmp_path / f"ls{month}", datetime(2021, month, 4, tzinfo=UTC), value=7000)
    assert index_items(dc, read_items(tmp_path)) == 3
    dc.index.datasets.archive([next(iter(dc.index.datasets.search(product="landsat_c2l2_sr"))).id])
    cube = Cube(dc, settings)
    name = "landsat_c2l2_sr"
    with cube.engine.connect() as conn:
        documents = read_dataset_documents(conn, cube.index_driver, [name, "sr_annual"])
    assert sorted(doc["id"] for _, doc in documents) == sorted(
        str(ds.id) for ds in cube.datasets(name)
    )
    (bulk, empty) = summarise_products(cube, [name, "sr_annual", "no_such_product"])
    assert (
        bulk == summarise_datasets(cube.product(name), cube.datasets(name))
        and bulk.dataset_count == 2
    )
    assert empty.name == "sr_annual" and empty.dataset_count == 0 and empty.bbox is None
    cube.close()


@pytest.mark.parametrize("name", ["sr_annual", "hires_rgb", "surface_water"])
def test_summaries_agree_with_odcs_dataset_properties(demo, name) -> None:
    """Summaries read each document's fields once; ODC's ``extent``, ``center_time`` and ``crs``
    properties, read one by one, give the same extents, times and grid CRS."""
    cube, _ = demo
    datasets = cube.datasets(name)
    (summary,) = summarise_products(cube, [name])
    boxes = [ds.extent.to_crs("EPSG:4326").boundingbox for ds in datasets]
    west, south, east, north = zip(*boxes, strict=True)
    assert summary.bbox == pytest.approx((min(west), min(south), max(east), max(north)), abs=1e-6)
    assert summary.times == tuple(sorted({ds.center_time for ds in datasets}))
    assert summary.grid is not None and {ds.crs for ds in datasets} == {summary.grid.crs}


def test_two_servers_initialising_one_empty_postgis_index_at_once(make_settings) -> None:
    """Both succeed: without the advisory lock, the second ``CREATE EXTENSION postgis`` collided."""
    import os
    import subprocess
    import sys

    settings = make_settings("postgis")
    assert settings.db_url is not None
    env = {**os.environ, "SDGCUBE_DB_URL": settings.db_url.get_secret_value(),
           "SDGCUBE_DATA_DIR": str(settings.data_dir)}  # fmt: skip
    sdgcube = [sys.executable, "-m", "sdgcube.cli", "db", "init"]
    runs = [subprocess.Popen(sdgcube, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]  # fmt: skip
    outcomes = [(run.wait(timeout=300), run.stdout.read() if run.stdout else "") for run in runs]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert set(builtin_product_names()) <= {
        p.name for p in init_index(settings).index.products.get_all()
    }
