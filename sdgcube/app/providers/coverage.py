"""OGC API Coverages over ``Cube.load``: a pygeoapi coverage provider for one ODC product.

pygeoapi reads the collection's grid, time range and fields (range type) from this provider; the
coverage itself is served by ``sdgcube.app.coverage_routes`` through ``read``, because pygeoapi's
coverage endpoint passes neither ``scale-size`` nor ``scale-factor`` to providers and answers a
malformed bbox with a 500.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox
from pygeoapi.provider.base import BaseProvider, ProviderInvalidQueryError

from sdgcube.app.coverage_query import CoverageQuery, parse_coverage_query, plan_coverage
from sdgcube.app.encoders import coverage_json, geotiff_bytes, netcdf_bytes
from sdgcube.datacube.bands import Band
from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.query import norm_time
from sdgcube.errors import InvalidRequest, NoData
from sdgcube.processes.services import Services

__all__ = ["CubeCoverageProvider", "band_fields", "select_times"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MEDIA_TYPES = {
    "json": "application/prs.coverage+json",
    "tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    "nc": "application/x-netcdf",
}


def _json_number(value: float) -> float | str:
    """JSON has no NaN: a NaN nodata value is written as the string ``"NaN"``."""
    return value if math.isfinite(value) else str(value).replace("nan", "NaN")


def band_fields(product: ProductSummary) -> dict[str, dict[str, Any]]:
    """pygeoapi field definitions (the range type) of a product's bands."""
    return {
        band.name: {
            "type": "number",
            "title": band.description or band.name,
            "x-ogc-unit": band.units,
            "x-ogc-dtype": band.dtype,
            **({"x-ogc-nodata": _json_number(band.nodata)} if band.nodata is not None else {}),
        }
        for band in product.bands
    }


def select_times(product: ProductSummary, datetime_: str | None) -> list[pd.Timestamp]:
    """The product's time slices within ``datetime_``; the latest slice alone when it is not given."""
    times = [
        pd.Timestamp(t).tz_convert(None) if pd.Timestamp(t).tzinfo else pd.Timestamp(t)
        for t in product.times
    ]
    if not datetime_:
        return times[-1:]
    try:
        lo, hi = norm_time(datetime_)  # type: ignore[misc]
    except InvalidRequest as exc:
        raise InvalidRequest(
            f"datetime {datetime_!r} is not an instant or interval: {exc}"
        ) from None
    chosen = [t for t in times if pd.Timestamp(lo) <= t <= pd.Timestamp(hi)]
    if not chosen:
        raise InvalidRequest(
            f"datetime {datetime_!r} matches no time slice of {product.name!r} "
            f"({times[0].isoformat()} … {times[-1].isoformat()})"
        )
    return chosen


class CubeCoverageProvider(BaseProvider):
    """Provider definition: ``{type: coverage, name: <this class>, data: <product>,
    services: Services, summary: ProductSummary}`` (built by `sdgcube.app.ogc_config`)."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.services: Services = provider_def["services"]
        self.summary: ProductSummary = provider_def["summary"]
        self.bands: dict[str, Band] = {b.name: b for b in self.summary.bands}
        self._fields = band_fields(self.summary)
        self.axes = ["x", "y", "time"]
        self.num_bands = len(self.bands)
        self.crs = str(self.summary.grid.crs) if self.summary.grid else None
        self._coverage_properties = self._properties()

    def _properties(self) -> dict[str, Any]:
        summary, grid = self.summary, self.summary.grid
        if grid is None or summary.native_bbox is None:
            return {"width": 0, "height": 0, "resx": 0, "resy": 0}
        minx, miny, maxx, maxy = summary.native_bbox
        return {
            "width": round((maxx - minx) / grid.res_x),
            "height": round((maxy - miny) / grid.res_y),
            "resx": grid.res_x,
            "resy": grid.res_y,
            "bbox": list(summary.native_bbox),
            "bbox_crs": str(grid.crs),
            "time_range": [summary.times[0].isoformat(), summary.times[-1].isoformat()],
        }

    def get_fields(self) -> dict[str, dict[str, Any]]:
        return self._fields

    def domainset(self) -> dict[str, Any]:
        """The grid in CRS84 (lon/lat), as the Coverages drafts that GDAL's OGCAPI driver reads define it."""
        summary = self.summary
        if summary.bbox is None or summary.grid is None:
            raise NoData(f"collection {self.data!r} holds no data yet")
        minx, miny, maxx, maxy = summary.bbox
        width = max(1, self._coverage_properties["width"])
        height = max(1, self._coverage_properties["height"])
        axes = [
            ("Lon", minx, maxx, (maxx - minx) / width),
            ("Lat", miny, maxy, (maxy - miny) / height),
        ]
        return {
            "type": "DomainSet",
            "generalGrid": {
                "type": "GeneralGridCoverage",
                "srsName": CRS84,
                "axisLabels": ["Lon", "Lat", "time"],
                "axis": [
                    *({"type": "RegularAxis", "axisLabel": label, "lowerBound": low, "upperBound": high,
                       "uomLabel": "deg", "resolution": res} for label, low, high, res in axes),
                    {"type": "IrregularAxis", "axisLabel": "time", "uomLabel": "s",
                     "coordinate": [t.isoformat() for t in summary.times]},
                ],
                "gridLimits": {"type": "GridLimits", "srsName": "http://www.opengis.net/def/crs/OGC/0/Index2D",
                               "axisLabels": ["i", "j"],
                               "axis": [{"type": "IndexAxis", "axisLabel": "i", "lowerBound": 0, "upperBound": width - 1},
                                        {"type": "IndexAxis", "axisLabel": "j", "lowerBound": 0, "upperBound": height - 1}]},
            },
        }  # fmt: skip

    def rangetype(self) -> dict[str, Any]:
        """The bands as an SWE DataRecord (data type names as GDAL's OGCAPI driver reads them)."""
        return {
            "type": "DataRecord",
            "field": [
                {"type": "Quantity", "id": band.name, "name": band.name, "definition": band.dtype.upper(),
                 "description": band.description or band.name, "uom": {"type": "UnitReference", "code": band.units},
                 **({"nilValues": [{"value": _json_number(band.nodata)}]} if band.nodata is not None else {})}
                for band in self.summary.bands
            ],
        }  # fmt: skip

    def query(
        self,
        properties: list[str] | None = None,
        subsets: dict | None = None,
        bbox: list[float] | None = None,
        bbox_crs: str | int | None = None,
        datetime_: str | None = None,
        format_: str = "json",
        **kwargs: Any,
    ) -> Any:
        """pygeoapi's entry point (used when pygeoapi itself serves the request)."""
        params = {"f": format_}
        if bbox:
            params["bbox"] = ",".join(str(v) for v in bbox)
        if bbox_crs is not None:
            params["bbox-crs"] = str(bbox_crs)
        if datetime_:
            params["datetime"] = datetime_
        if properties:
            params["properties"] = ",".join(properties)
        try:
            return self.read(parse_coverage_query(params))[1]
        except InvalidRequest as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from None

    def load(self, query: CoverageQuery) -> xr.Dataset:
        """The requested subset, eagerly loaded, after checking it against the pixel limit."""
        names = list(query.properties or self.bands)
        unknown = sorted(set(names) - set(self.bands))
        if unknown:
            raise InvalidRequest(
                f"properties {unknown} are not bands of {self.data!r} ({sorted(self.bands)})"
            )
        times = select_times(self.summary, query.datetime)
        plan = plan_coverage(
            query,
            self.summary,
            max_pixels=self.services.settings.limits.max_pixels,
            bands=len(names),
            times=len(times),
        )
        time_range = (times[0].isoformat(), times[-1].isoformat())
        if query.scale_size is None and query.scale_factor is None:
            # The box the limit was checked on (the request clipped to the data), not the request:
            # a bbox reaching past the data would otherwise read far more than was allowed.
            area: dict[str, Any] = (
                {"bbox": plan.bbox, "bbox_crs": self.crs} if query.bbox is not None else {}
            )
        elif query.scale_size is not None and query.bbox is not None:
            # A size asked for along the request's own axes means a grid in the request's CRS.
            width, height = query.scale_size
            area = {
                "geobox": GeoBox.from_bbox(
                    query.bbox, query.bbox_crs.to_wkt(), shape=(height, width)
                )
            }
        else:
            area = {
                "geobox": GeoBox.from_bbox(plan.bbox, self.crs, shape=(plan.height, plan.width))
            }
        data = self.services.cube.load(
            self.data, time=time_range, measurements=names, chunks=None, **area
        )
        if data.sizes.get("time", 0) == 0:
            raise NoData(f"no data of {self.data!r} in the requested area and time")
        return data

    def read(self, query: CoverageQuery) -> tuple[str, Any]:
        """Media type and body (CoverageJSON dict, GeoTIFF or NetCDF bytes) for a parsed query."""
        data = self.load(query)
        if query.format == "tif":
            return MEDIA_TYPES["tif"], geotiff_bytes(data, self.bands)
        if query.format == "nc":
            return MEDIA_TYPES["nc"], netcdf_bytes(data)
        return MEDIA_TYPES["json"], coverage_json(data, self.bands)
