"""OGC API EDR over the cube: the time series of a product at a point or over a polygon.

``position`` returns the pixel's values at every time slice; ``area`` returns, per time slice, the
mean of the valid pixels inside the polygon (the "profile analysis" of an area). Both are
CoverageJSON PointSeries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from odc.geo.geom import Geometry
from odc.geo.xr import rasterize
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderNoDataError
from pygeoapi.provider.base_edr import BaseEDRProvider
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from sdgcube.app.encoders import point_series_json
from sdgcube.app.providers.coverage import band_fields
from sdgcube.datacube.catalog import ProductSummary
from sdgcube.errors import InvalidRequest, LimitExceeded, NoData
from sdgcube.processes.services import Services

__all__ = ["CubeEDRProvider"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class CubeEDRProvider(BaseEDRProvider):
    """Provider definition: ``{type: edr, name: <this class>, data: <product>, services: Services,
    summary: ProductSummary}`` (built by `sdgcube.app.ogc_config`)."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.services: Services = provider_def["services"]
        self.summary: ProductSummary = provider_def["summary"]
        self.bands = {b.name: b for b in self.summary.bands}
        self._fields = band_fields(self.summary)

    def get_fields(self) -> dict[str, dict[str, Any]]:
        return self._fields

    def _names(self, select_properties: list[str] | None) -> list[str]:
        names = [n for n in (select_properties or []) if n] or list(self.bands)
        unknown = sorted(set(names) - set(self.bands))
        if unknown:
            raise ProviderInvalidQueryError(
                user_msg=f"parameter-name {unknown} not in {sorted(self.bands)}"
            )
        return names

    def _load(self, geometry: BaseGeometry, names: list[str], datetime_: str | None) -> xr.Dataset:
        try:
            data = self.services.cube.load(
                self.data, geometry=mapping(geometry), time=datetime_, measurements=names,
                mask_nodata=True, chunks={},
            )  # fmt: skip
        except NoData as exc:
            raise ProviderNoDataError(user_msg=str(exc)) from None
        except InvalidRequest as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from None
        values = data.sizes.get("time", 0) * int(
            np.prod([data.sizes[d] for d in data.dims if d != "time"])
        )
        if values * len(names) > self.services.settings.limits.max_pixels:
            raise ProviderInvalidQueryError(
                user_msg=str(LimitExceeded(f"the query reads {values * len(names):,} values, more than this "
                                           f"server's limit of {self.services.settings.limits.max_pixels:,}"))
            )  # fmt: skip
        # Lazy until here: the limit is checked on the grid's size before a single pixel is read.
        return data.compute()

    def position(self, wkt: BaseGeometry, datetime_: str | None = None, select_properties: list[str] | None = None,
                 **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        if wkt.geom_type != "Point":
            raise ProviderInvalidQueryError(user_msg="position queries take coords=POINT(lon lat)")
        names = self._names(select_properties)
        data = self._load(wkt.buffer(1e-6), names, datetime_)
        spatial = [d for d in data.dims if d != "time"]
        centre = {d: data.sizes[d] // 2 for d in spatial}
        pixel = data.isel(centre)
        return point_series_json(
            pixel.astype("float64"), self.bands, x=wkt.x, y=wkt.y, crs_uri=CRS84
        )

    def area(self, wkt: BaseGeometry, datetime_: str | None = None, select_properties: list[str] | None = None,
             **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        if wkt.geom_type not in ("Polygon", "MultiPolygon"):
            raise ProviderInvalidQueryError(user_msg="area queries take coords=POLYGON((…))")
        names = self._names(select_properties)
        data = self._load(wkt, names, datetime_)
        geobox = data.odc.geobox
        inside = rasterize(Geometry(mapping(wkt), "EPSG:4326").to_crs(geobox.crs), geobox)
        spatial = [d for d in data.dims if d != "time"]
        mean = data.astype("float64").where(inside).mean(dim=spatial, skipna=True)
        return point_series_json(
            mean, self.bands, x=wkt.centroid.x, y=wkt.centroid.y, crs_uri=CRS84
        )
