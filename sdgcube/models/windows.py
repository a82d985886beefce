"""Windows for inference over rasters larger than memory, and their seamless blending.

A model sees square windows of ``size`` pixels that overlap by ``overlap`` pixels. Windows are
anchored on the product's own pixel grid at multiples of the stride (``size - overlap``), never on
the requested area: a pixel is always predicted by the same windows, whatever area asked for it,
so the result of a sub-area equals the same pixels of a larger run. Each window's prediction is
weighted by a taper that rises across the overlap at its edges, where a model sees the least
context, and the weights of the (at most four) windows over a pixel add up to one: no seams, and a
constant prediction stays constant. A window whose cell (`WindowGrid.cell`) holds no data — past
the product's edges, over gaps — is not run, and its neighbours' weights are normalised where it
would have overlapped them; which windows run depends on the data alone, not on the request.

Coordinates are (row, col) pixel indices of the product's grid; sizes are in pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Area", "WindowGrid", "blend_weights"]


@dataclass(frozen=True)
class Area:
    """A block of the product's pixel grid: first row and column, and its shape."""

    row: int
    col: int
    rows: int
    cols: int

    def overlap(self, other: Area) -> Area | None:
        """The pixels both areas hold; None when they share none."""
        top, left = max(self.row, other.row), max(self.col, other.col)
        bottom = min(self.row + self.rows, other.row + other.rows)
        right = min(self.col + self.cols, other.col + other.cols)
        return (
            Area(top, left, bottom - top, right - left) if bottom > top and right > left else None
        )

    def slices_in(self, outer: Area) -> tuple[slice, slice]:
        """Where this area lies inside ``outer`` (which must contain it), as array slices."""
        top, left = self.row - outer.row, self.col - outer.col
        if top < 0 or left < 0 or top + self.rows > outer.rows or left + self.cols > outer.cols:
            raise ValueError(f"{self} does not lie inside {outer}")
        return slice(top, top + self.rows), slice(left, left + self.cols)


def _ramp(size: int, overlap: int) -> npt.NDArray[np.float64]:
    """1-D taper: (i + ½) / overlap up the first ``overlap`` pixels, mirrored down the last ones,
    1 between. Where the tail of one window meets the head of the next the two add up to 1."""
    weights = np.ones(size)
    if overlap:
        rise = (np.arange(overlap) + 0.5) / overlap
        weights[:overlap] = rise
        weights[size - overlap :] = rise[::-1]
    return weights


def blend_weights(size: int, overlap: int) -> npt.NDArray[np.float64]:
    """(size, size) weights of one window's prediction."""
    ramp = _ramp(size, overlap)
    return np.outer(ramp, ramp)


@dataclass(frozen=True)
class WindowGrid:
    """Windows of ``size`` pixels every ``size - overlap`` pixels of the product's grid."""

    size: int
    overlap: int

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.overlap <= self.size // 2:
            raise ValueError(
                f"a window of {self.size} px may overlap its neighbours by 0 to {self.size // 2} "
                f"px (at most two windows over a pixel per axis), not {self.overlap}"
            )

    @property
    def stride(self) -> int:
        return self.size - self.overlap

    def _starts(self, first: int, count: int) -> range:
        """Starts of every window along one axis that covers a pixel of first … first+count−1."""
        low = -((self.size - 1 - first) // self.stride)  # ceil((first − size + 1) / stride)
        high = (first + count - 1) // self.stride
        return range(low * self.stride, high * self.stride + 1, self.stride)

    def windows(self, area: Area) -> Iterator[Area]:
        """Every window covering a pixel of ``area``, row by row."""
        for row in self._starts(area.row, area.rows):
            for col in self._starts(area.col, area.cols):
                yield Area(row, col, self.size, self.size)

    def cell(self, window: Area) -> Area:
        """The stride-square at a window's top left corner. Cells tile the plane, and each lies
        inside its window: a window whose cell holds no data need not run, since every pixel with
        data lies in the cell of a window that does."""
        return Area(window.row, window.col, self.stride, self.stride)

    def blend(
        self, area: Area, predictions: Iterator[tuple[Area, npt.NDArray[np.floating]]]
    ) -> npt.NDArray[np.float32]:
        """The blended (rows, cols) values of ``area`` from each window's (size, size) prediction:
        the taper-weighted mean of the windows given over each pixel, NaN where none is.

        With every window of `windows` (area) the weights add up to one; a window left out (its
        cell held no data) leaves its neighbours' weights to be normalised over the pixels it shares."""
        total = np.zeros((area.rows, area.cols), np.float32)
        weight_sum = np.zeros((area.rows, area.cols), np.float32)
        weights = blend_weights(self.size, self.overlap).astype(np.float32)
        for window, values in predictions:
            part = window.overlap(area)
            if part is None:
                continue
            inside, there = part.slices_in(window), part.slices_in(area)
            total[there] += weights[inside] * values[inside]
            weight_sum[there] += weights[inside]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weight_sum > 0, total / weight_sum, np.float32(np.nan))
