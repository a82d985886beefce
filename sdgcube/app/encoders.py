"""Encoding loaded cube data for clients: CoverageJSON, GeoTIFF (COG) and NetCDF.

Inputs are eager xarray Datasets as ``Cube.load`` returns them (dims time, y, x or
latitude/longitude); nodata is already NaN or given per band.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sdgcube.datacube.bands import Band
from sdgcube.datacube.cog import write_cog

__all__ = ["coverage_json", "geotiff_bytes", "netcdf_bytes", "parameters", "point_series_json"]


def _spatial_dims(data: xr.Dataset) -> tuple[str, str]:
    return ("latitude", "longitude") if "latitude" in data.dims else ("y", "x")


def _crs_uri(data: xr.Dataset) -> str:
    epsg = data.odc.geobox.crs.epsg
    return f"http://www.opengis.net/def/crs/EPSG/0/{epsg}" if epsg else data.odc.geobox.crs.to_wkt()


def parameters(bands: Mapping[str, Band]) -> dict[str, Any]:
    """CoverageJSON parameter objects, one per band."""
    return {
        name: {
            "type": "Parameter",
            "description": {"en": band.description or name},
            "observedProperty": {"id": name, "label": {"en": name}},
            "unit": {"symbol": band.units},
        }
        for name, band in bands.items()
    }


def _values(array: xr.DataArray, nodata: float | None) -> list[Any]:
    values = array.values.astype("float64")
    mask = ~np.isfinite(values)
    if nodata is not None and np.isfinite(nodata):
        mask |= values == nodata
    return [
        None if m else v
        for v, m in zip(values.ravel().tolist(), mask.ravel().tolist(), strict=True)
    ]


def _times(data: xr.Dataset) -> list[str]:
    return [pd.Timestamp(t).isoformat() + "Z" for t in data.time.values]


def coverage_json(data: xr.Dataset, bands: Mapping[str, Band]) -> dict[str, Any]:
    """A CoverageJSON Grid coverage with axes t, y, x in the data's CRS."""
    ydim, xdim = _spatial_dims(data)
    names = list(data.data_vars)
    shape = [data.sizes["time"], data.sizes[ydim], data.sizes[xdim]]
    return {
        "type": "Coverage",
        "domain": {
            "type": "Domain",
            "domainType": "Grid",
            "axes": {
                "x": {"values": data[xdim].values.tolist()},
                "y": {"values": data[ydim].values.tolist()},
                "t": {"values": _times(data)},
            },
            "referencing": [
                {"coordinates": ["x", "y"], "system": {"type": "ProjectedCRS" if ydim == "y" else "GeographicCRS",
                                                       "id": _crs_uri(data)}},
                {"coordinates": ["t"], "system": {"type": "TemporalRS", "calendar": "Gregorian"}},
            ],
        },
        "parameters": parameters({n: bands[n] for n in names}),
        "ranges": {
            name: {
                "type": "NdArray", "dataType": "float", "axisNames": ["t", "y", "x"], "shape": shape,
                "values": _values(data[name], bands[name].nodata),
            }
            for name in names
        },
    }  # fmt: skip


def point_series_json(
    series: xr.Dataset, bands: Mapping[str, Band], *, x: float, y: float, crs_uri: str
) -> dict[str, Any]:
    """A CoverageJSON PointSeries: one value per time step and band (a pixel, or an area mean)."""
    names = list(series.data_vars)
    return {
        "type": "Coverage",
        "domain": {
            "type": "Domain",
            "domainType": "PointSeries",
            "axes": {"x": {"values": [x]}, "y": {"values": [y]}, "t": {"values": _times(series)}},
            "referencing": [
                {"coordinates": ["x", "y"], "system": {"type": "GeographicCRS", "id": crs_uri}},
                {"coordinates": ["t"], "system": {"type": "TemporalRS", "calendar": "Gregorian"}},
            ],
        },
        "parameters": parameters({n: bands[n] for n in names}),
        "ranges": {
            name: {
                "type": "NdArray", "dataType": "float", "axisNames": ["t"], "shape": [series.sizes["time"]],
                "values": _values(series[name], bands[name].nodata),
            }
            for name in names
        },
    }  # fmt: skip


def geotiff_bytes(data: xr.Dataset, bands: Mapping[str, Band]) -> bytes:
    """A COG with one band per (time, variable); band descriptions say which."""
    layers, names = [], []
    for t, when in enumerate(_times(data)):
        for name in data.data_vars:
            layers.append(data[name].isel(time=t).values)
            names.append(name if data.sizes["time"] == 1 else f"{name}@{when}")
    stack = np.stack(layers)
    dtype = np.result_type(*[layer.dtype for layer in layers])
    nodatas = {bands[n].nodata for n in data.data_vars}
    nodata = nodatas.pop() if len(nodatas) == 1 else None
    if nodata is None and np.issubdtype(dtype, np.floating):
        nodata = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.tif"
        write_cog(stack.astype(dtype), path, crs=data.odc.geobox.crs.to_wkt(), transform=data.odc.geobox.affine,
                  nodata=nodata, band_names=names)  # fmt: skip
        return path.read_bytes()


def netcdf_bytes(data: xr.Dataset) -> bytes:
    """NetCDF (CF grid mapping from the dataset's spatial_ref)."""
    clean = data.copy()
    for name in clean.data_vars:
        clean[name].attrs.pop("grid_mapping", None)
        clean[name].attrs["grid_mapping"] = "spatial_ref"
    clean.attrs = {k: str(v) for k, v in clean.attrs.items()}
    # ODC labels time with a units attribute that clashes with the CF time encoding xarray writes.
    clean["time"].attrs.pop("units", None)
    return clean.to_netcdf(engine="scipy")
