"""A rio-tiler reader over one product's selection: mosaics its datasets, or reads its overview.

Every read (tile, bbox part, preview, feature) becomes one *area*: bounds in a CRS and an output
size in pixels. The area is checked against the pixel limit, intersected with the dataset
footprints (nothing under it → 404), and then read either from the overview, when that is as
detailed as the request (see ``use_overview``), or from the datasets under it, newest first, each
pixel taken from the newest dataset that has a value there (``_io`` does the reading of each file).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import attr
import numpy as np
from morecantile import Tile, TileMatrixSet
from rasterio.crs import CRS
from rasterio.features import bounds as geometry_bounds
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds, transform_geom
from rio_tiler.constants import WEB_MERCATOR_TMS, WGS84_CRS
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from rio_tiler.io import BaseReader, Reader
from rio_tiler.models import BandStatistics, ImageData, Info, PointData
from rio_tiler.mosaic import mosaic_point_reader, mosaic_reader
from rio_tiler.utils import CRS_to_uri
from shapely.geometry import Point

from sdgcube.datacube.bands import Band
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.query import norm_bbox
from sdgcube.errors import InvalidRequest, LimitExceeded
from sdgcube.tiles._bands import requested_bands, rewrite_expression
from sdgcube.tiles._io import Area, as_band_types, buffered, open_asset, read_clipped, unscale
from sdgcube.tiles.catalog import BBox, DatasetRef, Selection, geographic_area
from sdgcube.tiles.overviews import OverviewStore, use_overview

__all__ = ["ProductReader", "TileSource"]


@dataclass(frozen=True)
class TileSource:
    """What one request may read, resolved from the collection id in the path and nothing else."""

    selection: Selection
    cube: Cube
    overviews: OverviewStore
    max_pixels: int


@attr.s
class ProductReader(BaseReader):
    """Reads one product selection; ``input`` comes from the path dependency, never from a client."""

    input: TileSource = attr.ib()
    tms: TileMatrixSet = attr.ib(default=WEB_MERCATOR_TMS)
    minzoom: int = attr.ib(init=False)
    maxzoom: int = attr.ib(init=False)

    def __attrs_post_init__(self) -> None:
        selection = self.input.selection
        res = selection.resolution
        left, bottom, right, top = self.bounds = selection.bounds
        self.crs = CRS.from_user_input(selection.crs)
        self.transform = from_origin(left, top, res, res)
        self.width = max(1, round((right - left) / res))
        self.height = max(1, round((top - bottom) / res))
        # Overviews make every zoom cheap, so clients may start from the coarsest one.
        self.minzoom = self.tms.minzoom
        self.maxzoom = self._maxzoom

    def info(self) -> Info:
        selection = self.input.selection
        return Info(
            bounds=self.bounds,
            crs=CRS_to_uri(self.crs) or self.crs.to_wkt(),
            band_metadata=[
                (b.name, {"dtype": b.dtype, "nodata": str(b.fill)}) for b in selection.bands
            ],
            band_descriptions=[(b.name, b.name) for b in selection.bands],
            dtype=selection.bands[0].dtype,
            nodata_type="Nodata",
            product=selection.product,
            datetime=list(selection.time_range),
            datasets=len(selection.datasets),
        )

    def statistics(
        self,
        categorical: bool = False,
        categories: list[float] | None = None,
        percentiles: list[int] | None = None,
        hist_options: dict | None = None,
        max_size: int = 1024,
        **kwargs: Any,
    ) -> dict[str, BandStatistics]:
        image = self.preview(max_size=max_size, **kwargs)
        return image.statistics(
            categorical=categorical,
            categories=categories,
            percentiles=percentiles,
            hist_options=hist_options,
        )

    def tile(
        self, tile_x: int, tile_y: int, tile_z: int, tilesize: int | None = None, **kwargs: Any
    ) -> ImageData:
        if not self.tms.minzoom <= tile_z <= self.tms.maxzoom:
            raise InvalidRequest(
                f"zoom {tile_z} is not a level of {self.tms.id} ({self.tms.minzoom}–{self.tms.maxzoom})"
            )
        matrix = self.tms.matrix(tile_z)
        bounds = tuple(self.tms.xy_bounds(Tile(x=tile_x, y=tile_y, z=tile_z)))
        size = (tilesize or matrix.tileWidth, tilesize or matrix.tileHeight)
        return self._read(Area(bounds, self.tms.rasterio_crs, *size), **kwargs)  # type: ignore[arg-type]

    def part(
        self,
        bbox: BBox,
        dst_crs: CRS | None = None,
        bounds_crs: CRS = WGS84_CRS,
        max_size: int | None = None,
        height: int | None = None,
        width: int | None = None,
        **kwargs: Any,
    ) -> ImageData:
        bbox = norm_bbox(bbox)
        dst_crs = dst_crs or bounds_crs
        if bounds_crs != dst_crs:
            bbox = transform_bounds(bounds_crs, dst_crs, *bbox, densify_pts=21)
        return self._read(self._sized(bbox, dst_crs, max_size, width, height), **kwargs)

    def preview(
        self,
        max_size: int | None = 1024,
        height: int | None = None,
        width: int | None = None,
        dst_crs: CRS | None = None,
        **kwargs: Any,
    ) -> ImageData:
        crs = dst_crs or self.crs
        bbox = (
            self.bounds
            if crs == self.crs
            else transform_bounds(self.crs, crs, *self.bounds, densify_pts=21)
        )
        return self._read(self._sized(bbox, crs, max_size, width, height), **kwargs)

    def feature(
        self, shape: dict, dst_crs: CRS | None = None, shape_crs: CRS = WGS84_CRS, **kwargs: Any
    ) -> ImageData:
        geometry = shape.get("geometry", shape) if shape.get("type") == "Feature" else shape
        dst_crs = dst_crs or shape_crs
        if shape_crs != dst_crs:
            geometry = transform_geom(shape_crs, dst_crs, geometry)
        image = self.part(geometry_bounds(geometry), dst_crs=dst_crs, bounds_crs=dst_crs, **kwargs)
        outside = geometry_mask(
            [geometry], out_shape=(image.height, image.width), transform=image.transform
        )
        image.array.mask = np.ma.getmaskarray(image.array) | outside
        return image

    def point(
        self,
        lon: float,
        lat: float,
        coord_crs: CRS = WGS84_CRS,
        bands: Sequence[str] | None = None,
        expression: str | None = None,
        **kwargs: Any,
    ) -> PointData:
        selection = self.input.selection
        wanted = requested_bands(selection, bands, expression)
        point = transform_geom(coord_crs, WGS84_CRS, {"type": "Point", "coordinates": (lon, lat)})
        x, y = point["coordinates"]
        hits = selection.intersecting(Point(x, y))
        if not hits:
            raise PointOutsideBounds(f"no dataset of {selection.product!r} covers ({lon}, {lat})")
        nodata = kwargs.pop("nodata", None)

        def read(ref: DatasetRef) -> PointData:
            values = []
            for band in wanted:
                path, index = ref.files[band.name]
                fill = band.fill if nodata is None else nodata
                with open_asset(path) as dataset, Reader(path, dataset=dataset) as src:
                    values.append(
                        src.point(
                            lon, lat, coord_crs=coord_crs, indexes=index, nodata=fill, **kwargs
                        )
                    )
            return PointData.create_from_list(values)

        data, _ = mosaic_point_reader(hits, read)
        data.band_names = [f"b{i}" for i in range(1, len(wanted) + 1)]
        data.band_descriptions = [b.name for b in wanted]
        return (
            data.apply_expression(rewrite_expression(selection, expression, wanted))
            if expression
            else data
        )

    def _sized(
        self, bbox: BBox, crs: CRS, max_size: int | None, width: int | None, height: int | None
    ) -> Area:
        """Output size: as given, else the native resolution, shrunk to ``max_size`` if larger."""
        if max_size is not None and max_size < 1:
            raise InvalidRequest(f"max_size {max_size} must be at least 1")
        span_x, span_y = bbox[2] - bbox[0], bbox[3] - bbox[1]
        if width is not None and height is not None:
            return Area(bbox, crs, width, height)
        if width or height:
            w = width or max(1, round((height or 1) * span_x / span_y))
            return Area(bbox, crs, w, height or max(1, round(w * span_y / span_x)))
        pixel = self._native_pixel_in(bbox, crs)
        w, h = max(1, math.ceil(span_x / pixel)), max(1, math.ceil(span_y / pixel))
        if max_size and max(w, h) > max_size:
            ratio = max_size / max(w, h)
            w, h = max(1, round(w * ratio)), max(1, round(h * ratio))
        return Area(bbox, crs, w, h)

    def _native_pixel_in(self, bbox: BBox, crs: CRS) -> float:
        """The native pixel size expressed in ``crs`` units over ``bbox``."""
        native = self._pixel_size(Area(bbox, crs, 1, 1))
        span = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
        return (
            span * self.input.selection.resolution / native
            if math.isfinite(native) and native > 0
            else span
        )

    def _pixel_size(self, area: Area) -> float:
        """Pixel size of ``area`` in native CRS units; infinite when it cannot be projected."""
        try:
            left, bottom, right, top = transform_bounds(
                area.crs, self.crs, *area.bounds, densify_pts=21
            )
        except Exception:  # noqa: BLE001 - far outside a projection's area of use anything can fail
            return math.inf
        size = max((right - left) / area.width, (top - bottom) / area.height)
        return size if math.isfinite(size) else math.inf

    def _read(
        self,
        area: Area,
        bands: Sequence[str] | None = None,
        expression: str | None = None,
        **options: Any,
    ) -> ImageData:
        source, selection = self.input, self.input.selection
        area = buffered(area, options.pop("buffer", None))
        if area.width * area.height > source.max_pixels:
            raise LimitExceeded(
                f"{area.width}×{area.height} = {area.width * area.height} pixels exceeds the server limit "
                f"of {source.max_pixels} pixels per request"
            )
        wanted = requested_bands(selection, bands, expression)
        hits = selection.intersecting(geographic_area(area.bounds, area.crs.to_string()))
        if not hits:
            raise TileOutsideBounds(
                f"no dataset of {selection.product!r} within the requested area"
            )
        apply_scale = bool(options.pop("unscale", False))
        if use_overview(self._pixel_size(area), source.overviews.resolution(selection), len(hits)):
            image = self._read_overview(area, wanted, options)
        else:
            image, _ = mosaic_reader(hits, self._read_dataset, area, wanted, options)
        image.band_names = [f"b{i}" for i in range(1, len(wanted) + 1)]
        image.band_descriptions = [b.name for b in wanted]
        if apply_scale:
            unscale(image, wanted)
        return (
            image.apply_expression(rewrite_expression(selection, expression, wanted))
            if expression
            else image
        )

    def _read_dataset(
        self, ref: DatasetRef, area: Area, bands: Sequence[Band], options: dict[str, Any]
    ) -> ImageData:
        nodata = options.get("nodata")
        rest = {k: v for k, v in options.items() if k != "nodata"}
        images = []
        for band in bands:
            path, index = ref.files[band.name]
            fill = band.fill if nodata is None else nodata
            images.append(
                read_clipped(path, area, ref.bounds, ref.crs, indexes=index, nodata=fill, **rest)
            )
        return ImageData.create_from_list(images)

    def _read_overview(
        self, area: Area, bands: Sequence[Band], options: dict[str, Any]
    ) -> ImageData:
        source, selection = self.input, self.input.selection
        path = source.overviews.ensure(source.cube, selection)
        indexes = [selection.bands.index(b) + 1 for b in bands]
        rest = {k: v for k, v in options.items() if k != "nodata"}
        image = read_clipped(
            str(path),
            area,
            selection.bounds,
            selection.crs,
            indexes=indexes,
            nodata=math.nan,
            **rest,
        )
        return as_band_types(image, bands)
