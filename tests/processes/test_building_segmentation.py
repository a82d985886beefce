"""building-segmentation on the demo chips: counts and areas against the planted truth, a sub-area
equal to the same pixels of a larger run, one polygon for a building that a window edge cuts, and
the refusals made before any job exists."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import box, shape
from shapely.ops import transform

from sdgcube.datacube.cube import NativeGrid
from sdgcube.errors import InvalidModel, InvalidRequest
from sdgcube.models.inference import default_window
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.registry import DEFAULT_MODEL_ID, ModelRegistry
from sdgcube.models.windows import Area
from sdgcube.processes.building_segmentation import BuildingSegmentation

pytestmark = pytest.mark.slow


@pytest.fixture
def segment(build_processor):
    def run(data: dict[str, Any]) -> dict[str, Any]:
        _, document = build_processor(BuildingSegmentation, "building-segmentation").execute(data)
        return document

    return run


@pytest.fixture
def chips_grid(demo) -> tuple[PixelGrid, Area]:
    """The product grid of the demo chips and the block of it they tile."""
    cube, _ = demo
    datasets = cube.datasets("hires_rgb")
    grid = PixelGrid.of(NativeGrid.of(datasets))
    bounds = [ds.extent.to_crs(grid.crs).boundingbox for ds in datasets]
    whole = box(min(b.left for b in bounds), min(b.bottom for b in bounds),
                max(b.right for b in bounds), max(b.top for b in bounds))  # fmt: skip
    return grid, grid.area_of(whole.buffer(-0.01))


def _wgs84_bbox(grid: PixelGrid, area: Area) -> list[float]:
    to_wgs84 = Transformer.from_crs(str(grid.crs), "EPSG:4326", always_xy=True).transform
    return list(transform(to_wgs84, box(*grid.geobox(area).boundingbox)).bounds)


def _mask(cube, document: dict[str, Any], grid: PixelGrid, area: Area) -> np.ndarray:
    product = document["collections"]["mask"]
    return cube.load(product, geobox=grid.geobox(area), chunks=None)["building"].values[0]


def test_counts_and_areas_match_the_planted_buildings(demo, segment):
    cube, truth = demo
    document = segment({"units_layer": None, "labels_product": "building_labels"})
    planted = sum(c["buildings"] for c in truth["chips"])
    planted_m2 = sum(c["footprint_area_m2"] for c in truth["chips"])
    total = document["total"]
    assert total["building_count"] == pytest.approx(planted, rel=0.10)
    assert total["footprint_area_m2"] == pytest.approx(planted_m2, rel=0.10)
    assert document["footprints"]["count"] == total["building_count"]
    (row,) = document["summary"]["rows"]
    assert row["building_count"] == total["building_count"]
    assert document["metrics"]["percent"]["miou"] > 80
    layer = document["footprints"]["features_collection"]
    assert cube.vectors.query_features(layer, limit=1)[1] == total["building_count"]


def test_a_sub_area_equals_the_same_pixels_of_a_larger_run(demo, segment, chips_grid):
    cube, _ = demo
    grid, whole = chips_grid
    stride = default_window(256).stride
    # a sub-area whose edges cut windows and chips, and which a window edge crosses both ways
    edge_row = next(r for r in range(whole.row + 1, whole.row + whole.rows) if r % stride == 0)
    edge_col = next(c for c in range(whole.col + 1, whole.col + whole.cols) if c % stride == 0)
    top, left = max(whole.row + 3, edge_row - 97), max(whole.col + 3, edge_col - 61)
    sub = Area(
        top,
        left,
        min(230, whole.row + whole.rows - 3 - top),
        min(210, whole.col + whole.cols - 3 - left),
    )
    assert sub.row < edge_row < sub.row + sub.rows and sub.col < edge_col < sub.col + sub.cols
    larger = segment({"units_layer": None, "bbox": _wgs84_bbox(grid, whole)})
    smaller = segment({"units_layer": None, "bbox": _wgs84_bbox(grid, sub)})
    inner = Area(sub.row + 1, sub.col + 1, sub.rows - 2, sub.cols - 2)  # bbox rounding at the rim
    a, b = _mask(cube, larger, grid, inner), _mask(cube, smaller, grid, inner)
    assert (a != 255).all() and a.any()
    np.testing.assert_array_equal(a, b)


def test_a_building_cut_by_a_window_edge_is_one_polygon(demo, segment, chips_grid):
    cube, _ = demo
    grid, whole = chips_grid
    document = segment({"units_layer": None})
    labels = cube.load("building_labels", geobox=grid.geobox(whole), chunks=None)[
        "building"
    ].values[0]
    components, count = ndimage.label(labels == 1)
    stride = default_window(256).stride
    edges_rows = {
        r - whole.row for r in range(whole.row, whole.row + whole.rows) if r % stride == 0
    }
    edges_cols = {
        c - whole.col for c in range(whole.col, whole.col + whole.cols) if c % stride == 0
    }
    assert edges_rows or edges_cols
    layer = document["footprints"]["features_collection"]
    features, _ = cube.vectors.query_features(layer, limit=10_000)
    to_grid = Transformer.from_crs("EPSG:4326", str(grid.crs), always_xy=True).transform
    polygons = [transform(to_grid, shape(f.geometry)) for f in features]
    cut = 0
    for label in range(1, count + 1):
        rows, cols = np.nonzero(components == label)
        crosses = any(rows.min() < r <= rows.max() for r in edges_rows) or any(
            cols.min() < c <= cols.max() for c in edges_cols
        )
        if not crosses or rows.size < 200:
            continue
        cut += 1
        t = grid.transform(whole)
        building = box(*(t * (cols.min(), rows.max() + 1)), *(t * (cols.max() + 1, rows.min())))
        overlapping = [p for p in polygons if p.intersection(building).area > 0.1 * building.area]
        assert len(overlapping) == 1, (
            f"building {label} cut by a window edge came out in {len(overlapping)} pieces"
        )
    assert cut >= 2


def test_refusals_come_before_any_job(demo, build_processor):
    processor = build_processor(BuildingSegmentation, "building-segmentation")
    cube, _ = demo
    with pytest.raises(
        InvalidModel, match=f"unknown model 'nope'; known models: .*{DEFAULT_MODEL_ID}"
    ):
        processor.prepare({"model": "nope"}, cube)
    with pytest.raises(InvalidRequest, match="has no band 'red'"):
        processor.prepare({"product": "land_cover"}, cube)
    with pytest.raises(InvalidModel, match=r"trained at 0\.5 m; 'sr_annual' has 30 m pixels"):
        processor.prepare({"product": "sr_annual", "units_layer": None}, cube)
    with pytest.raises(InvalidRequest, match="threshold"):
        processor.prepare({"threshold": 1.5}, cube)
    assert ModelRegistry(cube.settings.archive_dir).card(None).id == DEFAULT_MODEL_ID
