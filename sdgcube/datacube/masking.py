"""Masking loaded data: nodata to NaN, and pixels flagged as fill, cloud or cloud shadow."""

from __future__ import annotations

import xarray as xr
from datacube.utils.masking import get_flags_def, make_mask, mask_invalid_data

from sdgcube.errors import InvalidRequest

__all__ = ["apply_masks", "clear_sky", "flag_bands", "is_bit_flags"]

_UNCLEAR_FLAGS = ("fill", "cloud", "cloud_shadow")


def is_bit_flags(flags_definition: dict | None) -> bool:
    """True for quality bits (a flag on one bit), False for class codes spread over a whole byte."""
    return any(isinstance(flag.get("bits"), int) for flag in (flags_definition or {}).values())


def flag_bands(ds: xr.Dataset) -> list[str]:
    """Bands whose values are bit flags."""
    return [
        str(name)
        for name, band in ds.data_vars.items()
        if is_bit_flags(band.attrs.get("flags_definition"))
    ]


def clear_sky(pq: xr.DataArray) -> xr.DataArray:
    """True where none of the fill/cloud/cloud-shadow flags that ``pq`` defines is set."""
    flags = get_flags_def(pq)
    wanted = {flag: False for flag in _UNCLEAR_FLAGS if flag in flags}
    return make_mask(pq, **wanted)


def apply_masks(ds: xr.Dataset, *, nodata: bool, clouds: bool) -> xr.Dataset:
    """Mask nodata to NaN and/or unclear pixels; flag bands themselves are kept as they are."""
    flags = flag_bands(ds)
    data = ds.drop_vars(flags)
    if nodata:
        data = mask_invalid_data(data)
    if clouds:
        if not flags:
            raise InvalidRequest(
                "cloud masking needs a pixel-quality band, and this product has none"
            )
        data = data.where(clear_sky(ds[flags[0]]))
    return data.merge(ds[flags]) if flags else data
