"""COG writing: tiled, compressed, with overviews once larger than a block; atomic on failure."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from sdgcube.datacube.cog import atomic_path, sha256_multihash, write_cog


@pytest.mark.parametrize(
    ("dtype", "categorical"), [("int16", False), ("uint8", True), ("float32", False)]
)
def test_write_cog_layout_and_values(tmp_path, dtype, categorical):
    data = (np.random.default_rng(0).random((600, 700)) * 100).astype(dtype)
    target = tmp_path / "out.tif"
    write_cog(
        data,
        target,
        crs="EPSG:32760",
        transform=Affine(30, 0, 0, 0, -30, 0),
        nodata=0,
        categorical=categorical,
    )
    with rasterio.open(target) as src:
        assert src.profile["tiled"] and src.compression.name == "deflate"
        assert src.overviews(1)[0] == 2
        np.testing.assert_array_equal(src.read(1), data)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]
    assert sha256_multihash(target).startswith("1220") and len(sha256_multihash(target)) == 68


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.tif"

    def write_half_then_fail() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_half_then_fail()
    assert list(tmp_path.iterdir()) == []
