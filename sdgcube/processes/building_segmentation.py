"""``building-segmentation``: building masks, footprints and counts per unit from very-high-resolution imagery.

A segmentation model from the registry (the shipped one by default) is run over the area in
overlapping windows on the product's grid, blended without seams (``sdgcube.models.inference``), block
by block: read, infer, blend and write never hold more than a strip of windows, whatever the area.
The probability and the mask become products of the cube (tiles, WMS and coverages at once); the
mask is polygonised strip by strip into one polygon per building, regularised to orthogonal edges,
and published as a Features collection, GeoJSON and GeoParquet; each reporting unit gets its
building count and footprint area. With ``labels_product`` the seed's metric table is computed
over the area too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from odc.geo.crs import CRS
from pydantic import Field
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform

from sdgcube.datacube.cube import Cube, NativeGrid
from sdgcube.errors import InvalidModel, InvalidRequest, LimitExceeded
from sdgcube.models.card import ModelCard
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.windows import Area, WindowGrid
from sdgcube.processes import indicator as ix
from sdgcube.processes.base import CubeProcessor, ProcessResult
from sdgcube.processes.context import JobContext
from sdgcube.processes.reads import ReadSpec, area_input_name, resolve_read

__all__ = ["BuildingSegmentation", "BuildingSegmentationInputs", "SegmentationPlan"]


class BuildingSegmentationInputs(ix.IndicatorInputs):
    # fmt: off
    product: str = Field("hires_rgb", description="Image product with the model's input bands")
    time: str | None = Field(None, description="Date or start/end of the images to use; latest valid pixel wins")
    model: str | None = Field(None, description="Model id in the registry (sdgcube models list); default: the shipped model")
    threshold: float | None = Field(None, gt=0, lt=1, description="Probability above which a pixel is building; default: the model's")
    labels_product: str | None = Field(None, description="Label product (1 building, 0 background) to score the model over the area")
    min_area_m2: float = Field(4.0, ge=0, description="Footprints smaller than this are dropped")
    # fmt: on


@dataclass(frozen=True)
class SegmentationPlan(ix.IndicatorPlan[BuildingSegmentationInputs]):
    card: ModelCard
    grid: PixelGrid
    area: Area
    """The block of the product's grid that covers the region."""
    window: WindowGrid

    @cached_property
    def pixel_values(self) -> int:
        """The image under every window over the area (they reach past it), and the labels of
        the area itself, each times its time slices (the latest valid pixel wins: all are read)."""
        windows = list(self.window.windows(self.area))
        rows = max(w.row for w in windows) + self.window.size - min(w.row for w in windows)
        cols = max(w.col for w in windows) + self.window.size - min(w.col for w in windows)
        image = rows * cols * self.reads["image"].time_slices
        labels = self.reads.get("labels")
        return image + (self.area.rows * self.area.cols * labels.time_slices if labels else 0)


def to_crs(geometry: BaseGeometry, crs: CRS) -> BaseGeometry:
    """A WGS 84 geometry in ``crs``."""
    return transform(
        Transformer.from_crs("EPSG:4326", str(crs), always_xy=True).transform, geometry
    )


def _check_model(card: ModelCard, plan: ix.IndicatorPlan[BuildingSegmentationInputs], grid: NativeGrid) -> None:  # fmt: skip
    if grid.crs.geographic:
        raise InvalidRequest(
            f"product {plan.inputs.product!r} is not on a projected grid: footprints need metres"
        )
    resolution = (grid.res_x + grid.res_y) / 2
    if not 0.67 <= resolution / card.resolution_m <= 1.5:
        raise InvalidModel(f"model {card.id!r} was trained at {card.resolution_m} m; {plan.inputs.product!r} "
                           f"has {resolution:g} m pixels")  # fmt: skip


class BuildingSegmentation(CubeProcessor):
    process_id = "building-segmentation"
    title = "Building footprints from very-high-resolution imagery"
    description = (
        "Segments buildings with a trained model (windowed, blended, memory-bounded inference), registers the "
        "probability and mask rasters, publishes regularised footprint polygons (Features, GeoJSON, GeoParquet) "
        "and the building count and footprint area per reporting unit; with a labels product, the metric table."
    )
    keywords = ("buildings", "segmentation", "footprints", "deep learning", "SDG 11")
    Inputs = BuildingSegmentationInputs
    outputs: ClassVar[dict[str, Any]] = ix.result_outputs(
        "Registered rasters, footprints (Features, GeoJSON, GeoParquet), per-unit counts (JSON, CSV, SDMX-CSV)"
    )
    example: ClassVar[dict[str, Any]] = {"units_layer": None, "labels_product": "building_labels"}
    prefix = "buildings"

    def check(self, inputs: BuildingSegmentationInputs, cube: Cube) -> SegmentationPlan:  # type: ignore[override]
        # torch loads only when this process is asked for
        from sdgcube.models.inference import default_window
        from sdgcube.models.registry import ModelRegistry

        card = ModelRegistry(cube.settings.archive_dir).card(inputs.model)
        reads = {"image": ReadSpec(inputs.product, "product", bands={b: b for b in card.bands}, time=inputs.time,
                                   time_field="time")}  # fmt: skip
        if inputs.labels_product is not None:
            reads["labels"] = ReadSpec(
                inputs.labels_product, "labels_product", time=inputs.time, time_field="time"
            )
        plan = ix.plan_indicator(inputs, cube, **reads)
        native = NativeGrid.of(plan.reads["image"].datasets)
        _check_model(card, plan, native)
        grid = PixelGrid.of(native)
        area = grid.area_of(to_crs(plan.region.geometry, grid.crs))
        limit = cube.settings.limits.max_job_pixels
        if area.rows * area.cols * len(card.bands) > limit:
            raise LimitExceeded(f"the area holds {area.rows * area.cols:,} pixels of {len(card.bands)} bands, more "
                                f"than this server's job limit of {limit:,} values")  # fmt: skip
        window = default_window(card.chip_size)
        # Windows reach past the area: they must read every dataset under them, or a pixel's
        # prediction would depend on the area asked for (the datasets found over it).
        reach = Area(area.row - window.size, area.col - window.size, area.rows + 2 * window.size,
                     area.cols + 2 * window.size)  # fmt: skip
        image = resolve_read(cube, reads["image"], area=shape(grid.geobox(reach).extent.to_crs("EPSG:4326").json),
                             area_field=area_input_name(inputs))  # fmt: skip
        return SegmentationPlan(
            plan.inputs, plan.region, {**plan.reads, "image": image}, card, grid, area, window
        )

    def run_plan(self, plan: Any, ctx: JobContext) -> ProcessResult:
        # torch and the footprint libraries load in the job, not when the server lists processes
        from sdgcube.processes._segmentation_run import run_segmentation

        assert isinstance(plan, SegmentationPlan)
        return run_segmentation(self, plan, ctx)
