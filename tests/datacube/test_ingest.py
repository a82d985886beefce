"""Ingesting outside rasters: exact round trip, idempotence, and nothing written on bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.ingest import ingest_file
from sdgcube.errors import IngestError

GRIDS = {
    "EPSG:4326": Affine(0.001, 0, 10.0, 0, -0.001, 20.0),
    "EPSG:32633": Affine(30, 0, 500010, 0, -30, 4_999_980),
    "EPSG:3857": Affine(50, 0, 1_113_200, 0, -50, 2_273_000),
}


def _archive_files(cube: Cube) -> set[Path]:
    return (
        {p for p in cube.settings.archive_dir.rglob("*") if p.is_file()}
        if cube.settings.archive_dir.exists()
        else set()
    )


def _counts(cube: Cube) -> tuple[int, int]:
    return len(list(cube.dc.index.products.get_all())), cube.dc.index.datasets.count()


@pytest.mark.parametrize(
    ("crs", "dtype", "nodata"),
    [("EPSG:4326", "float32", -1.0), ("EPSG:32633", "int16", -32768), ("EPSG:3857", "uint8", 255)],
)
def test_new_product_round_trips_exact_pixels(empty_cube, make_raster, crs, dtype, nodata):
    rng = np.random.default_rng(0)
    data = (rng.random((37, 53)) * 100).astype(dtype)
    data[0, 0] = nodata
    product = f"ext_{dtype}_{crs.split(':')[1]}"
    path = make_raster(data, crs=crs, transform=GRIDS[crs], nodata=nodata)
    result = ingest_file(
        empty_cube.dc,
        empty_cube.settings.archive_dir,
        path,
        product=product,
        when=datetime(2021, 5, 1),
    )
    assert result.created_product and not result.already_indexed
    loaded = empty_cube.load(product, chunks=None)
    values = loaded[product].values
    assert values.shape == (1, 37, 53) and values.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(values[0], data)
    assert loaded.odc.geobox.crs == crs
    again = ingest_file(
        empty_cube.dc,
        empty_cube.settings.archive_dir,
        path,
        product=product,
        when=datetime(2021, 5, 1),
    )
    assert again.already_indexed and again.dataset_id == result.dataset_id
    assert len(empty_cube.datasets(product)) == 1


def test_netcdf_variable_round_trips(empty_cube, make_raster):
    data = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    path = make_raster(
        data, crs="EPSG:32633", transform=GRIDS["EPSG:32633"], name="one.nc", driver="netCDF"
    )
    ingest_file(
        empty_cube.dc,
        empty_cube.settings.archive_dir,
        path,
        product="ext_netcdf",
        when=datetime(2020, 1, 1),
    )
    loaded = empty_cube.load("ext_netcdf", chunks=None)
    np.testing.assert_array_equal(loaded.ext_netcdf.values[0], data)


def test_netcdf_with_several_variables_names_one_to_use(empty_cube, make_raster):
    data = np.zeros((2, 10, 10), dtype=np.float32)
    path = make_raster(
        data, crs="EPSG:32633", transform=GRIDS["EPSG:32633"], name="two.nc", driver="netCDF"
    )
    with pytest.raises(IngestError, match=r"2 subdatasets; ingest one, e\.g\. netcdf:"):
        ingest_file(
            empty_cube.dc,
            empty_cube.settings.archive_dir,
            path,
            product="ext_nc2",
            when=datetime(2020, 1, 1),
        )


def test_datetime_from_tiff_tag(empty_cube, make_raster):
    path = make_raster(np.ones((8, 8), np.uint8), tags={"TIFFTAG_DATETIME": "2019:08:07 06:05:04"})
    ingest_file(empty_cube.dc, empty_cube.settings.archive_dir, path, product="ext_tagged")
    (ds,) = empty_cube.datasets("ext_tagged")
    assert ds.center_time.isoformat().startswith("2019-08-07T06:05:04")


def _corrupt(path: Path) -> Path:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 :] = b"\x00" * (len(raw) - len(raw) // 2)
    path.write_bytes(raw[: len(raw) * 3 // 4])
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("corrupt", "not a readable raster"),
        ("no_crs", "no coordinate reference system"),
        ("wrong_bands", "measurement"),
        ("wrong_dtype", "stores"),
        ("no_time", "no acquisition time"),
        ("bad_name", "product name"),
        ("off_earth", "outside the Earth"),
    ],
)
def test_bad_input_changes_nothing(empty_cube, make_raster, case, message):
    data = np.random.default_rng(1).integers(0, 200, (300, 300)).astype(np.int16)
    product, when = "sr_annual", datetime(2020, 1, 1)
    if case == "corrupt":
        path = _corrupt(make_raster(data, transform=GRIDS["EPSG:4326"]))
        product = "ext_corrupt"
    elif case == "no_crs":
        path, product = make_raster(data, crs=None, transform=Affine.identity()), "ext_nocrs"
    elif case == "wrong_bands":
        path = make_raster(data)
    elif case == "wrong_dtype":
        path, product = make_raster(data.astype(np.float64)), "soil_organic_carbon"
    elif case == "no_time":
        path, product, when = make_raster(data), "ext_untimed", None
    elif case == "off_earth":
        # EPSG:4326 bounds -1000,-500,1000,500: indexed, it stopped MapProxy and so the server.
        off_earth = Affine(2000 / 300, 0, -1000, 0, -1000 / 300, 500)
        path, product = make_raster(data, transform=off_earth), "ext_off_earth"
    else:
        path, product = make_raster(data), "Bad-Name"
    before_files, before_counts = _archive_files(empty_cube), _counts(empty_cube)
    with pytest.raises(IngestError, match=message):
        ingest_file(
            empty_cube.dc, empty_cube.settings.archive_dir, path, product=product, when=when
        )
    assert _archive_files(empty_cube) == before_files
    assert _counts(empty_cube) == before_counts
