"""The real ``sdgcube`` command, as a user runs it: demo archive, listings, ingest and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from sdgcube.datacube.products import builtin_product_names

pytestmark = pytest.mark.slow
SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDGCUBE_")}
    env["SDGCUBE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [SDGCUBE, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_demo_data_then_products_and_datasets(data_dir):
    done = run(data_dir, "demo-data", "--size", "small", "--seed", "3")
    assert done.returncode == 0, done.stderr
    products = run(data_dir, "products")
    assert products.stdout.split() == sorted(builtin_product_names())
    assert "8 products, 168 datasets" in products.stderr
    lines = run(data_dir, "datasets", "land_cover", "--time", "2000/2004").stdout.splitlines()
    assert len(lines) == 5 and lines[0].split("\t")[1].startswith("2000-07-01")


def test_ingest_outside_raster_and_refuse_corrupt_one(data_dir, make_raster, tmp_path):
    data = np.random.default_rng(2).random((30, 40)).astype("float32")
    good = make_raster(data, nodata=-1.0)
    done = run(data_dir, "ingest", str(good), "--product", "rainfall", "--datetime", "2022-03-01")
    assert done.returncode == 0, done.stderr
    assert "\tindexed\t" in done.stdout
    again = run(data_dir, "ingest", str(good), "--product", "rainfall", "--datetime", "2022-03-01")
    assert "already indexed" in again.stdout
    assert len(run(data_dir, "datasets", "rainfall").stdout.splitlines()) == 1

    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(good.read_bytes()[:300])
    before = run(data_dir, "products")
    bad = run(
        data_dir,
        "ingest",
        str(good),
        str(corrupt),
        "--product",
        "rainfall",
        "--datetime",
        "2022-03-02",
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("sdgcube: error:") and "corrupt.tif" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert run(data_dir, "products").stderr == before.stderr
    assert len(run(data_dir, "datasets", "rainfall").stdout.splitlines()) == 1


def test_ingest_refuses_bounds_off_the_earth(data_dir, make_raster):
    data = np.ones((50, 100), dtype="float32")
    off_earth = make_raster(data, transform=Affine(20, 0, -1000, 0, -20, 500), name="off.tif")
    done = run(
        data_dir, "ingest", str(off_earth), "--product", "ext_off", "--datetime", "2022-03-01"
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("sdgcube: error:") and "outside the Earth" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "ext_off" not in run(data_dir, "products").stdout.split()


def test_unknown_product_and_bad_size_exit_2(data_dir):
    for args in (
        ["datasets", "nope"],
        ["demo-data", "--size", "huge"],
        ["ingest", "/nonexistent.tif", "--product", "x"],
    ):
        done = run(data_dir, *args)
        assert done.returncode == 2 and done.stderr.startswith("sdgcube: error:"), (
            args,
            done.stderr,
        )


def test_run_a_process_as_a_job(data_dir):
    done = run(data_dir, "run", "band-math", "--input", "expression=(nir08 - red) / (nir08 + red)",
               "--input", "datetime=2020", "--input", "bbox=[177.92, -17.65, 177.96, -17.62]")  # fmt: skip
    assert done.returncode == 0, done.stderr
    first_line, document = done.stdout.split("\n", 1)
    assert "successful" in first_line and first_line.endswith("result.json")
    product = json.loads(document)["collection"]
    assert product in run(data_dir, "products").stdout.split()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "nope"], "unknown process 'nope'"),
        (["run", "band-math", "--input", "expression=red+"], "not valid"),
        (["run", "band-math", "--input", "expression"], "must be key=value"),
        (
            ["run", "band-math", "--input", "expression=red", "--input", "bbox=[1,2"],
            "not valid JSON",
        ),
        (
            ["run", "band-math", "--input", "expression=red", "--input", "datetime=1990"],
            "no datasets",
        ),
        (["run", "band-math", "--input", "expression=null"], "expression"),
    ],
)
def test_run_refuses_bad_inputs_with_one_line(data_dir, args, fragment):
    done = run(data_dir, *args)
    assert done.returncode == 2
    assert fragment in done.stderr and done.stderr.strip().count("\n") == 0


def test_remove_a_dataset_then_a_product(data_dir, make_raster):
    for i, year in enumerate([2019, 2020]):
        path = make_raster(np.full((6, 6), i, dtype="uint8"), name=f"gone{i}.tif")
        added = run(
            data_dir, "ingest", str(path), "--product", "to_remove", "--datetime", f"{year}-01-01"
        )
        assert added.returncode == 0, added.stderr
    listed = run(data_dir, "datasets", "to_remove").stdout.splitlines()
    first_id, first_uri = listed[0].split("\t")[0], listed[0].split("\t")[2]
    done = run(data_dir, "datasets", "remove", first_id)
    assert done.returncode == 0 and done.stdout.strip() == "removed 1 datasets", done.stderr
    assert not Path(first_uri.removeprefix("file://")).exists()
    assert len(run(data_dir, "datasets", "to_remove").stdout.splitlines()) == 1

    done = run(data_dir, "products", "remove", "to_remove")
    assert (
        done.returncode == 0 and done.stdout.strip() == "removed product to_remove with 1 datasets"
    )
    assert "to_remove" not in run(data_dir, "products").stdout.split()
    assert not (data_dir / "archive" / "to_remove").exists()
    for args in (["products", "remove", "to_remove"], ["datasets", "remove", first_id]):
        again = run(data_dir, *args)
        assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
        assert again.stderr.startswith("sdgcube: error: unknown")
