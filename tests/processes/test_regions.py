"""Regions of indicator jobs: areas, reporting units from a vector layer, unit rasters."""

from __future__ import annotations

import numpy as np
import pytest

from sdgcube.errors import InvalidRequest, LimitExceeded
from sdgcube.processes.regions import RegionInputs, resolve_region, unit_index_raster

pytestmark = pytest.mark.slow


def test_default_region_is_the_product_extent_with_every_unit(demo) -> None:
    cube, truth = demo
    region = resolve_region(RegionInputs(), cube, "land_cover")
    assert [u.id for u in region.units] == ["D1", "D2", "D3", "D4"]
    geobox = cube.load("land_cover", time="2000", chunks=None, **region.load_area()).odc.geobox
    index = unit_index_raster(region, geobox)
    assert set(np.unique(index)) == {0, 1, 2, 3, 4}
    # The districts tile the island: together they cover its land.
    assert (index > 0).sum() * truth["pixel_area_km2"] == pytest.approx(truth["land_km2"], rel=0.02)


def test_unit_ids_select_units_and_define_the_area(demo) -> None:
    cube, _ = demo
    region = resolve_region(RegionInputs(unit_ids=["D2"]), cube, "land_cover")
    assert [u.id for u in region.units] == ["D2"]
    assert region.geometry.equals_exact(region.units[0].geometry, 1e-9)


@pytest.mark.parametrize(
    ("inputs", "error", "fragment"),
    [
        (RegionInputs(units_layer="nope"), InvalidRequest, "units_layer 'nope'"),
        (RegionInputs(unit_ids=["D9"]), InvalidRequest, "unit_ids ['D9']"),
        (RegionInputs(bbox=[10, 50, 10.1, 50.1]), InvalidRequest, "no unit"),
        (RegionInputs(bbox=[-60, -60, 60, 60], units_layer=None), LimitExceeded, "limit of"),
    ],
)
def test_bad_regions_say_which_input(demo, inputs, error, fragment) -> None:
    cube, _ = demo
    with pytest.raises(error, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        resolve_region(inputs, cube, "land_cover")


def test_without_a_layer_the_area_is_one_unit(demo) -> None:
    cube, _ = demo
    region = resolve_region(RegionInputs(units_layer=None), cube, "land_cover")
    assert [u.id for u in region.units] == ["area"]
