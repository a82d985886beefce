"""xarray/Dask wrappers over the SDG 15.3.1 kernels of :mod:`sdgcube.indicators`.

Each wrapper is one ``xr.apply_ufunc(..., dask="parallelized")``: the year axis is a core dimension
(rechunked to a single chunk), spatial chunks are kept, so memory per task is one spatial chunk of
the whole series. Coordinates (y, x, ``spatial_ref``) pass through, so results keep their GeoBox.
Inside Dask tasks the kernels run single-threaded: Dask provides the parallelism.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sdgcube.indicators import land_cover as lc_kernels
from sdgcube.indicators import productivity as prod_kernels
from sdgcube.indicators import soc as soc_kernels
from sdgcube.indicators import trend as trend_kernels
from sdgcube.indicators.degradation import CLASS_NODATA

__all__ = [
    "annual_mean",
    "land_cover_degradation",
    "productivity_state",
    "soc_percent_change",
    "trajectory",
]

YEAR = "year"
_TRAJECTORY = trend_kernels.TrajectoryParams()
_STATE = prod_kernels.StateParams()


def annual_mean(values: xr.DataArray) -> xr.DataArray:
    """One slice per calendar year along a ``year`` dimension (int years): the mean of the year's
    time slices, NaN-skipping; an annual product is only relabelled."""
    years = values.time.dt.year.values
    if len(set(years.tolist())) == len(years):
        return (
            values.assign_coords({YEAR: ("time", years)})
            .swap_dims({"time": YEAR})
            .drop_vars("time")
        )
    return values.groupby("time.year").mean("time", skipna=True)


def _whole(values: xr.DataArray, dim: str) -> xr.DataArray:
    return values.chunk({dim: -1}) if values.chunks is not None else values


def _class_attrs(description: str) -> dict[str, object]:
    return {"description": description, "nodata": CLASS_NODATA}


def trajectory(
    ndvi: xr.DataArray, *, params: trend_kernels.TrajectoryParams = _TRAJECTORY, dim: str = YEAR
) -> xr.Dataset:
    """Slope (per year), Mann–Kendall S, years with data and the trajectory class of each pixel's
    series along ``dim`` (integer years); see :func:`sdgcube.indicators.trend.trajectory`."""
    years = np.asarray(ndvi[dim].values, dtype=np.float64)

    def kernel(values: np.ndarray) -> tuple[np.ndarray, ...]:
        result = trend_kernels.trajectory(values, years, params=params)
        return result.slope, result.s, result.n, result.trend

    slope, s, n, trend = xr.apply_ufunc(
        kernel, _whole(ndvi, dim), input_core_dims=[[dim]], output_core_dims=[[], [], [], []],
        dask="parallelized", output_dtypes=[np.float32, np.int32, np.int16, np.int8],
    )  # fmt: skip
    return xr.Dataset(
        {
            "slope": slope.assign_attrs(
                units="1/year", description=f"{params.method} slope, NaN = nodata"
            ),
            "mk_s": s.assign_attrs(description="Mann-Kendall S over pairs of years with data"),
            "n_years": n.assign_attrs(description="years with data"),
            "trend": trend.assign_attrs(_class_attrs("-1 degrading, 0 no trend, 1 improving")),
        }
    )


def productivity_state(
    baseline: xr.DataArray,
    recent: xr.DataArray,
    *,
    params: prod_kernels.StateParams = _STATE,
    dim: str = YEAR,
) -> xr.DataArray:
    """int8 state class per pixel from the baseline and recent years along ``dim``."""
    base = _whole(baseline.rename({dim: "baseline_year"}), "baseline_year")
    comparison = _whole(recent.rename({dim: "recent_year"}), "recent_year")
    state: xr.DataArray = xr.apply_ufunc(
        lambda b, r: prod_kernels.productivity_state(b, r, params=params), base, comparison,
        input_core_dims=[["baseline_year"], ["recent_year"]], dask="parallelized", output_dtypes=[np.int8],
    )  # fmt: skip
    return state.assign_attrs(_class_attrs("productivity state: -1 degraded, 0 stable, 1 improved"))


def land_cover_degradation(
    baseline: xr.DataArray,
    target: xr.DataArray,
    *,
    matrix: np.ndarray = lc_kernels.UNCCD_TRANSITION_MATRIX,
) -> xr.DataArray:
    """int8 land-cover degradation of two land-cover rasters (UNCCD classes) on the same grid."""
    out: xr.DataArray = xr.apply_ufunc(
        lambda b, t: lc_kernels.land_cover_degradation(b, t, matrix=matrix), baseline, target,
        dask="parallelized", output_dtypes=[np.int8],
    )  # fmt: skip
    return out.assign_attrs(_class_attrs("land cover: -1 degraded, 0 stable, 1 improved"))


def soc_percent_change(
    baseline: xr.DataArray, target: xr.DataArray, baseline_water: xr.DataArray
) -> xr.DataArray:
    """float32 percent change of the SOC stock (NaN = nodata, also where ``baseline_water``)."""
    out: xr.DataArray = xr.apply_ufunc(
        lambda b, t, w: soc_kernels.soc_percent_change(b, t, baseline_water=w), baseline, target, baseline_water,
        dask="parallelized", output_dtypes=[np.float32],
    )  # fmt: skip
    return out.assign_attrs(units="%", description="SOC change baseline to target, NaN = nodata")
