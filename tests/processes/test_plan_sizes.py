"""Every process's plan says how many pixel values its job reads and what area it covers (the job
quotas count them): checked against the arrays the cube actually loads for the plan's reads, and
against the geodesic area computed here."""

from __future__ import annotations

import importlib
import math
import pickle
from typing import Any

import pytest
from shapely.geometry import box

from sdgcube.processes.area import geodesic_km2
from sdgcube.processes.band_math import BandMath
from sdgcube.processes.base import CubeProcessor, Plan
from sdgcube.processes.building_segmentation import SegmentationPlan
from sdgcube.processes.indicator import IndicatorPlan
from sdgcube.processes.reads import Read
from sdgcube.processes.registry import PROCESSES


def _inner_bbox(cube, product: str = "sr_annual") -> list[float]:
    """The middle half (each way) of the product's WGS 84 extent."""
    bounds = [ds.extent.to_crs("EPSG:4326").boundingbox for ds in cube.datasets(product)]
    west, south = min(b.left for b in bounds), min(b.bottom for b in bounds)
    east, north = max(b.right for b in bounds), max(b.top for b in bounds)
    dx, dy = (east - west) / 4, (north - south) / 4
    return [west + dx, south + dy, east - dx, north - dy]


def _processor(process_id: str) -> CubeProcessor:
    module, name = PROCESSES[process_id].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)({"name": process_id})


def _loaded_values(cube, read: Read, **where: Any) -> int:
    """Pixels × time slices of what ``Read.load`` gives: the sizes of the loaded (lazy) arrays."""
    data = read.load(cube, **where)
    sizes = dict(data.sizes)
    return math.prod(sizes.values())


def _indicator_values(cube, plan: IndicatorPlan) -> int:
    return sum(
        _loaded_values(cube, read, area=plan.region.load_area()) for read in plan.reads.values()
    )


INDICATORS = [
    pid for pid in PROCESSES if pid not in ("band-math", "building-segmentation")
]  # fmt: skip


@pytest.mark.parametrize("process_id", INDICATORS)
def test_an_indicator_plan_counts_what_its_reads_load(demo, process_id):
    cube, _ = demo
    processor = _processor(process_id)
    plan = processor.prepare(processor.example, cube)
    assert isinstance(plan, IndicatorPlan)
    assert plan.pixel_values == _indicator_values(cube, plan) > 0
    assert plan.area_km2 == pytest.approx(geodesic_km2(plan.region.geometry))


@pytest.mark.parametrize(
    ("extra", "slices"),
    [({"datetime": "2020"}, 1), ({"datetime": "2018/2020"}, 3)],
)
def test_band_math_counts_every_time_slice_of_its_period(demo, extra, slices):
    cube, _ = demo
    bbox = _inner_bbox(cube)
    inputs = {"expression": "(nir08 - red) / (nir08 + red)", "bbox": bbox, **extra}
    plan = BandMath({"name": "band-math"}).prepare(inputs, cube)
    assert len({ds.center_time for ds in plan.read.datasets}) == slices
    loaded = _loaded_values(cube, plan.read, area=plan.inputs.load_area())
    assert plan.pixel_values == loaded
    assert plan.area_km2 == pytest.approx(geodesic_km2(box(*bbox)))
    # The plan travels to the Dask worker after the manager has asked its size.
    assert pickle.loads(pickle.dumps(plan)).pixel_values == loaded


def test_band_math_counts_the_grid_it_is_asked_for(demo):
    """A finer resolution than the native one reads more values: the count follows the output grid."""
    cube, _ = demo
    processor = BandMath({"name": "band-math"})
    base = {
        "expression": "(nir08 - red) / (nir08 + red)",
        "bbox": _inner_bbox(cube),
        "datetime": "2020",
    }
    native = processor.prepare(base, cube)
    res = native.read.datasets[0].metadata_doc["grids"]["default"]["transform"][0]
    finer = processor.prepare({**base, "resolution": abs(res) / 2}, cube)
    loaded = _loaded_values(
        cube, finer.read, area=finer.inputs.load_area(), resolution=abs(res) / 2
    )
    assert finer.pixel_values == loaded
    assert finer.pixel_values == pytest.approx(4 * native.pixel_values, rel=0.05)


def test_band_math_without_an_area_covers_the_products_extent(demo):
    cube, _ = demo
    plan = BandMath({"name": "band-math"}).prepare({"expression": "red", "datetime": "2020"}, cube)
    assert plan.pixel_values == _loaded_values(cube, plan.read)
    bounds = [ds.extent.to_crs("EPSG:4326").boundingbox for ds in plan.read.datasets]
    whole = box(min(b.left for b in bounds), min(b.bottom for b in bounds),
                max(b.right for b in bounds), max(b.top for b in bounds))  # fmt: skip
    assert plan.area_km2 == pytest.approx(geodesic_km2(whole), rel=1e-6)


@pytest.mark.slow
def test_segmentation_counts_the_image_under_its_windows_and_the_labels(demo):
    pytest.importorskip("torch")
    cube, _ = demo
    processor = _processor("building-segmentation")
    plan = processor.prepare({"units_layer": None, "labels_product": "building_labels"}, cube)
    assert isinstance(plan, SegmentationPlan)
    size, stride = plan.window.size, plan.window.stride

    # Independently: windows start every ``stride`` pixels from the grid's origin and reach
    # ``size``; the first covers the area's first pixel, the last its last pixel.
    def span(first: int, count: int) -> int:
        start = math.floor((first - size + 1) / stride) * stride
        while start + size <= first:
            start += stride
        end = (first + count - 1) // stride * stride + size
        return end - start

    image_slices = len({ds.center_time for ds in plan.reads["image"].datasets})
    label_slices = len({ds.center_time for ds in plan.reads["labels"].datasets})
    image = span(plan.area.row, plan.area.rows) * span(plan.area.col, plan.area.cols) * image_slices
    labels = plan.area.rows * plan.area.cols * label_slices
    assert plan.pixel_values == image + labels
    assert plan.area_km2 == pytest.approx(geodesic_km2(plan.region.geometry))


def test_a_plan_that_cannot_say_its_size_is_a_defect():
    plan = Plan(None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="pixel values"):
        _ = plan.pixel_values
    with pytest.raises(NotImplementedError, match="area"):
        _ = plan.area_km2
