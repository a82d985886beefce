"""The one band lookup: names and aliases, nodata, scale/offset and the quality band of a product."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from sdgcube.datacube.bands import Band, ProductBands
from sdgcube.errors import InvalidRequest

SR = {
    "red": {"dtype": "int16", "nodata": -9999, "scale_factor": 0.0001, "aliases": ["SR_B4", "b3"]},
    "nir08": {"dtype": "int16", "nodata": -9999, "scale_factor": 0.0001, "add_offset": -0.2},
    "pixel_quality": {
        "dtype": "uint8",
        "nodata": 1,
        "flags_definition": {"fill": {"bits": 0, "values": {"0": False, "1": True}}},
    },
}


def test_names_and_aliases_resolve_to_the_measurement() -> None:
    bands = ProductBands.of("sr", SR)
    assert bands["SR_B4"].name == "red"
    assert [b.name for b in bands.select(["nir08", "b3"])] == ["nir08", "red"]
    assert bands.every_name == {"red", "SR_B4", "b3", "nir08", "pixel_quality"}


def test_unknown_bands_are_named_in_the_error() -> None:
    with pytest.raises(InvalidRequest, match=r"no band\(s\) \['swir', 'x'\].*red, nir08"):
        ProductBands.of("sr", SR).select(["red", "swir", "x"])


def test_quality_band_is_the_bit_flag_band() -> None:
    assert ProductBands.of("sr", SR).quality == Band.of("pixel_quality", SR["pixel_quality"])
    assert ProductBands.of("lc", {"lc": {"dtype": "uint8", "units": "class"}}).quality is None


@pytest.mark.parametrize(
    ("doc", "nodata", "fill"),
    [({"dtype": "uint8", "nodata": 255}, 255.0, 255.0), ({"dtype": "float32"}, None, math.nan)],
)
def test_nodata_and_fill(doc: dict, nodata: float | None, fill: float) -> None:
    band = Band.of("b", doc)
    assert band.nodata == nodata
    assert band.fill == fill or (math.isnan(band.fill) and math.isnan(fill))


def test_physical_values_apply_scale_and_offset() -> None:
    data = xr.Dataset({"nir08": ("x", np.array([0, 5000, 10000], dtype="int16"))})
    (nir,) = ProductBands.of("sr", SR).physical(data, ["nir08"]).values()
    assert nir.dtype == np.float32
    np.testing.assert_allclose(nir.values, [-0.2, 0.3, 0.8], atol=1e-6)
