"""``Cube.load``: native grid, subsets by bbox/geometry/time, reprojection, masking, clear errors."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from sdgcube.errors import InvalidRequest, NoData, UnknownProduct

pytestmark = pytest.mark.slow


def test_native_grid_is_lazy_and_exact(demo):
    cube, truth = demo
    ds = cube.load("land_cover", time="2010")
    assert isinstance(ds.land_cover.data, da.Array)
    assert ds.odc.geobox.crs == truth["crs"] and ds.odc.geobox.resolution.x == truth["pixel_size_m"]
    assert ds.land_cover.shape == (1, 200, 200)
    assert set(np.unique(ds.land_cover.values)) <= set(range(1, 8))


def test_bbox_in_wgs84_and_in_native_crs_agree(demo):
    cube, _ = demo
    full = cube.load("built_up", time="2020", chunks=None)
    box = full.odc.geobox[50:90, 120:170]
    native = cube.load(
        "built_up", time="2020", bbox=list(box.boundingbox), bbox_crs=str(box.crs), chunks=None
    )
    assert native.built_up.shape == (1, 40, 50)
    np.testing.assert_array_equal(native.built_up.values, full.built_up.values[:, 50:90, 120:170])
    wgs = cube.load(
        "built_up", time="2020", bbox=list(box.extent.to_crs("EPSG:4326").boundingbox), chunks=None
    )
    assert wgs.built_up.shape[1] >= 40 and wgs.built_up.shape[2] >= 50


@pytest.mark.parametrize("chunks", [None, {"time": 1, "y": 64, "x": 64}])
def test_reprojected_load(demo, chunks):
    cube, _ = demo
    ds = cube.load("land_cover", time="2000", crs="EPSG:4326", resolution=0.0005, chunks=chunks)
    assert ds.odc.geobox.crs == "EPSG:4326"
    extent = cube.datasets("land_cover", time="2000")[0].extent.to_crs("EPSG:4326").boundingbox
    # The grid covers the dataset's footprint, snapped outwards to whole 0.0005° pixels.
    np.testing.assert_allclose(ds.odc.geobox.boundingbox, extent, atol=0.0005)
    assert (ds.land_cover.values == 7).any() and (ds.land_cover.values == 1).any()


def test_cloud_mask_removes_exactly_the_flagged_pixels(demo):
    cube, _ = demo
    raw = cube.load("sr_annual", time="2005", chunks=None)
    masked = cube.load(
        "sr_annual",
        time="2005",
        measurements=["red"],
        mask_nodata=True,
        mask_clouds=True,
        chunks=None,
    )
    flagged = (raw.pixel_quality.values & 0b111) > 0
    assert np.isnan(masked.red.values).sum() == flagged.sum()
    assert list(masked.data_vars) == ["red"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"product": "nope"}, UnknownProduct, "nope"),
        ({"product": "land_cover", "bbox": (1, 2, 0, 3)}, InvalidRequest, "bbox"),
        ({"product": "land_cover", "time": "last tuesday"}, InvalidRequest, "time"),
        ({"product": "land_cover", "crs": "EPSG:3857"}, InvalidRequest, "resolution"),
        ({"product": "land_cover", "crs": "EPSG:0"}, InvalidRequest, "CRS"),
        ({"product": "land_cover", "time": "1990"}, NoData, "no datasets"),
        ({"product": "land_cover", "measurements": ["red"]}, InvalidRequest, "red"),
        ({"product": "land_cover", "mask_clouds": True}, InvalidRequest, "pixel-quality"),
    ],
)
def test_bad_requests_say_what_is_wrong(demo, kwargs, error, message):
    cube, _ = demo
    options = {k: v for k, v in kwargs.items() if k != "product"}
    with pytest.raises(error, match=message):
        cube.load(kwargs["product"], **options)
