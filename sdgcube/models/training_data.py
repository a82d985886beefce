"""Labelled chips for training and evaluation, read from the cube.

Every dataset of the image product is one chip; its labels are the label product read on exactly
the chip's grid, so the two line up pixel for pixel whatever the label product's own tiling.
Pixels with no image (any band at nodata) or no label (the label's nodata) are ignored by the loss
and the metrics: they carry `IGNORE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sdgcube.datacube.cube import Cube
from sdgcube.errors import InvalidRequest, NoData

__all__ = ["IGNORE", "LabelledChip", "band_statistics", "load_chips", "split_by_chip"]

IGNORE = 255
"""Label code of pixels left out of the loss and the metrics."""


@dataclass(frozen=True)
class LabelledChip:
    dataset_id: str
    image: npt.NDArray[np.float32]
    """(band, y, x) stored values; NaN where the image has no data."""
    labels: npt.NDArray[np.uint8]
    """(y, x): 0 background, 1 building, `IGNORE` no label or no image."""
    resolution: float
    """Pixel side in the units of the chip's CRS (metres for a projected one)."""


def _label_band(cube: Cube, labels_product: str, label_band: str | None) -> str:
    names = cube.bands(labels_product).names
    if label_band is None:
        return names[0]
    if label_band not in names:
        raise InvalidRequest(f"labels product {labels_product!r} has no band {label_band!r}")
    return label_band


def load_chips(
    cube: Cube, product: str, labels_product: str, *, bands: Sequence[str],
    label_band: str | None = None, dataset_ids: Sequence[str] | None = None,
) -> list[LabelledChip]:  # fmt: skip
    """One chip per dataset of ``product`` (or of those named), with its labels."""
    label_band = _label_band(cube, labels_product, label_band)
    cube.bands(product).select(list(bands))
    datasets = cube.datasets(product)
    if dataset_ids is not None:
        wanted = set(dataset_ids)
        datasets = [ds for ds in datasets if str(ds.id) in wanted]
        missing = wanted - {str(ds.id) for ds in datasets}
        if missing:
            raise InvalidRequest(f"{product!r} holds no dataset {min(missing)}")
    chips = []
    for ds in datasets:
        image = cube.load(product, datasets=[ds], measurements=list(bands), chunks=None,
                          mask_nodata=True).isel(time=0)  # fmt: skip
        try:
            labels = cube.load(labels_product, geobox=image.odc.geobox, measurements=[label_band],
                               chunks=None).isel(time=0)[label_band]  # fmt: skip
        except NoData:
            continue  # an image chip without labels teaches nothing
        stack = np.stack([image[b].values.astype(np.float32) for b in bands])
        codes = labels.values.astype(np.uint8)
        codes = np.where((codes <= 1) & ~np.isnan(stack).any(axis=0), codes, IGNORE)
        chips.append(LabelledChip(str(ds.id), stack, codes.astype(np.uint8),
                                  abs(float(image.odc.geobox.resolution.x))))  # fmt: skip
    if not chips:
        raise NoData(f"no dataset of {product!r} has labels in {labels_product!r}")
    return chips


def split_by_chip(
    chips: Sequence[LabelledChip], validation_fraction: float, seed: int
) -> tuple[list[LabelledChip], list[LabelledChip]]:
    """Training and validation chips: whole chips held out, so no validation pixel has a
    neighbour in training. At least one chip each when there are two or more."""
    order = np.random.default_rng(seed).permutation(len(chips))
    n_val = (
        min(max(1, round(len(chips) * validation_fraction)), len(chips) - 1)
        if len(chips) > 1
        else 0
    )
    held = set(order[:n_val].tolist())
    return ([c for i, c in enumerate(chips) if i not in held],
            [c for i, c in enumerate(chips) if i in held])  # fmt: skip


def band_statistics(chips: Sequence[LabelledChip]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-band mean and standard deviation over every valid pixel of the chips."""
    values = np.concatenate([c.image.reshape(c.image.shape[0], -1) for c in chips], axis=1)
    return (tuple(float(v) for v in np.nanmean(values, axis=1)),
            tuple(max(float(v), 1e-6) for v in np.nanstd(values, axis=1)))  # fmt: skip
