"""Windowed, blended inference over areas of any size, block by block in bounded memory.

The area is cut into column strips; each strip is swept top to bottom one row of windows at a
time. After the windows starting at row R are predicted, rows R … R + stride − 1 have every
prediction they will get (the next row of windows starts at R + stride), so that block is blended
and handed on at once: memory holds two rows of windows of one strip, whatever the area. Windows
sit on the product's grid (``sdgcube.models.windows``) and always read the product's data, never the
request's outline, so a pixel's probability does not depend on the requested area. Batches are
always ``batch_size`` windows (the last one padded), so every window is computed with the same
tensor shapes and its result does not depend on its neighbours in the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from sdgcube.models.checkpoint import LoadedModel
from sdgcube.models.training import normalised, predict_probability
from sdgcube.models.windows import Area, WindowGrid

__all__ = ["BlockReader", "Segmenter", "default_window"]

BlockReader = Callable[[Area], npt.NDArray[np.float32]]
"""(band, rows, cols) stored values of a block of the product's grid; NaN where there are none."""


def default_window(chip_size: int) -> WindowGrid:
    """512-pixel windows (or the chip size if larger) overlapping by an eighth: enough context at
    window edges for a model trained on chips, little repeated work (1.3× the pixels)."""
    size = max(512, chip_size // 32 * 32)
    return WindowGrid(size, size // 8)


@dataclass(frozen=True)
class Segmenter:
    model: LoadedModel
    grid: WindowGrid
    device: torch.device
    batch_size: int = 4
    strip_windows: int = 16
    """Windows across one column strip (the strip is this many strides wide)."""

    def __post_init__(self) -> None:
        if self.grid.size % 32:
            raise ValueError(f"the window size must be a multiple of 32, not {self.grid.size}")

    def _predict(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities of (N, band, size, size) normalised windows in fixed-size batches."""
        out = np.empty((len(images), self.grid.size, self.grid.size), np.float32)
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            padded = np.zeros((self.batch_size, *images.shape[1:]), np.float32)
            padded[: len(batch)] = batch
            out[start : start + len(batch)] = predict_probability(self.model.network, padded, self.device)[: len(batch)]  # fmt: skip
        return out

    def _span(self, row: int, cols: range) -> Area:
        """The block one row of windows across one strip reads."""
        return Area(row, cols[0], self.grid.size, cols[-1] - cols[0] + self.grid.size)

    def _window_row(self, row: int, cols: range, raw: npt.NDArray[np.float32]) -> list[tuple[Area, npt.NDArray[np.float32]]]:  # fmt: skip
        """The windows of one row across one strip whose cell holds data, predicted from the
        ``raw`` block of their span."""
        size, card = self.grid.size, self.model.card
        span = self._span(row, cols)
        has_data = ~np.isnan(raw).all(axis=0)
        windows = [
            w for w in (Area(row, col, size, size) for col in cols)
            if has_data[self.grid.cell(w).slices_in(span)].any()
        ]  # fmt: skip
        if not windows:
            return []
        scaled = normalised(raw, card.normalisation.mean, card.normalisation.std)
        images = np.stack(
            [scaled[:, :, w.col - span.col : w.col - span.col + size] for w in windows]
        )
        return list(zip(windows, self._predict(images), strict=True))

    def probability(self, area: Area, read: BlockReader) -> Iterator[tuple[Area, npt.NDArray[np.float32]]]:  # fmt: skip
        """(block, float32 probability) blocks tiling ``area``; NaN where the image has no data."""
        strip = self.grid.stride * self.strip_windows
        first = area.col // strip * strip
        for strip_col in range(first, area.col + area.cols, strip):
            left, right = max(strip_col, area.col), min(strip_col + strip, area.col + area.cols)
            yield from self._strip(area, Area(area.row, left, area.rows, right - left), read)

    def _strip(self, area: Area, strip: Area, read: BlockReader) -> Iterator[tuple[Area, npt.NDArray[np.float32]]]:  # fmt: skip
        starts = list(self.grid.windows(Area(area.row, strip.col, area.rows, strip.cols)))
        rows = sorted({w.row for w in starts})
        cols = range(min(w.col for w in starts), max(w.col for w in starts) + 1, self.grid.stride)
        previous: list[tuple[Area, npt.NDArray[np.float32]]] = []
        for row in rows:
            raw = read(self._span(row, cols))
            current = self._window_row(row, cols, raw)
            top, bottom = max(row, area.row), min(row + self.grid.stride, area.row + area.rows)
            if bottom > top:
                block = Area(top, strip.col, bottom - top, strip.cols)
                values = self.grid.blend(block, iter(previous + current))
                inside = block.slices_in(self._span(row, cols))
                values[np.isnan(raw[(slice(None), *inside)]).all(axis=0)] = np.nan
                yield block, values
            previous = current
