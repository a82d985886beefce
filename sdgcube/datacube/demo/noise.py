"""The random part of a demo dataset: pixel noise and smooth blobs (clouds, observation gaps).

A whole grid draws them from one generator in a fixed order (:class:`WholeNoise`, what the demo has
always done). A windowed grid draws pixel noise per fixed 256-pixel block, each block from its own
generator seeded by (seed, dataset, block), and blobs from one coarse field per dataset
(:class:`BlockNoise`): the values of a pixel depend neither on the window it is made in nor on the
process that makes it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.ndimage import gaussian_filter, shift

from sdgcube.datacube.demo.landscape import COARSENING, DemoGrid, Window, coarse_sample

__all__ = ["NOISE_BLOCK", "BlockNoise", "Noise", "WholeNoise", "dataset_rng"]

NOISE_BLOCK = 256


def dataset_rng(seed: int, key: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode()), *more])


class Noise(Protocol):
    """What the time series draw at random, for the pixels of one window."""

    def normal(self, sd: float) -> np.ndarray:
        """Gaussian noise (mean 0) for every pixel."""
        ...

    def uniform_at(self, mask: np.ndarray, low: float, high: float) -> np.ndarray:
        """Uniform values for the pixels of ``mask``, in row-major order."""
        ...

    def blobs(self, fraction: float, moved: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Smooth blobs over about ``fraction`` of the grid, and the same blobs moved ``moved``
        pixels down and right (a cloud's shadow)."""
        ...


def _blob_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return gaussian_filter(rng.standard_normal(shape), sigma=max(shape[0] / 50, 1.5))


@dataclass
class WholeNoise:
    """Every draw from one generator over the whole grid."""

    rng: np.random.Generator
    shape: tuple[int, int]

    def normal(self, sd: float) -> np.ndarray:
        return self.rng.normal(0, sd, self.shape)

    def uniform_at(self, mask: np.ndarray, low: float, high: float) -> np.ndarray:
        return self.rng.uniform(low, high, int(mask.sum()))

    def blobs(self, fraction: float, moved: int = 0) -> tuple[np.ndarray, np.ndarray]:
        blob_field = _blob_field(self.rng, self.shape)
        mask = blob_field > np.quantile(blob_field, 1 - fraction)
        if not moved:
            return mask, mask
        return mask, shift(mask, (moved, moved), order=0, cval=False)


@dataclass
class BlockNoise:
    """Pixel noise per 256-pixel block and blobs from a coarse field, for one window."""

    seed: int
    key: str
    grid: DemoGrid
    window: Window
    _blocks: list[tuple[tuple[slice, slice], np.random.Generator]] = field(init=False)
    _field_rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        w = self.window
        if w.row % NOISE_BLOCK or w.col % NOISE_BLOCK:
            raise ValueError(f"window {w} does not start on a {NOISE_BLOCK}-pixel noise block")
        self._blocks = []
        for row in range(w.row, w.row + w.height, NOISE_BLOCK):
            for col in range(w.col, w.col + w.width, NOISE_BLOCK):
                rows = slice(row - w.row, min(row + NOISE_BLOCK, w.row + w.height) - w.row)
                cols = slice(col - w.col, min(col + NOISE_BLOCK, w.col + w.width) - w.col)
                rng = dataset_rng(self.seed, self.key, row // NOISE_BLOCK, col // NOISE_BLOCK)
                self._blocks.append(((rows, cols), rng))
        # Stream -1 is no block's: the coarse fields are the same for every window.
        self._field_rng = dataset_rng(self.seed, self.key, 2**32 - 1)

    def _per_block(self, draw: str) -> np.ndarray:
        """A float32 draw per block (twice as fast as float64; the demo needs no more)."""
        out = np.empty(self.window.shape, dtype=np.float32)
        for (rows, cols), rng in self._blocks:
            shape = (rows.stop - rows.start, cols.stop - cols.start)
            out[rows, cols] = getattr(rng, draw)(shape, dtype=np.float32)
        return out

    def normal(self, sd: float) -> np.ndarray:
        return self._per_block("standard_normal") * np.float32(sd)

    def uniform_at(self, mask: np.ndarray, low: float, high: float) -> np.ndarray:
        return self._per_block("random")[mask] * np.float32(high - low) + np.float32(low)

    def blobs(self, fraction: float, moved: int = 0) -> tuple[np.ndarray, np.ndarray]:
        m = self.grid.size // COARSENING
        coarse = _blob_field(self._field_rng, (m, m))
        threshold = np.quantile(coarse, 1 - fraction)
        mask = coarse_sample(coarse, self.window) > threshold
        if not moved:
            return mask, mask
        shadow = coarse_sample(coarse, self.window, offset=moved) > threshold
        # Beyond the grid's top and left edges there is no cloud to cast a shadow.
        shadow[: max(moved - self.window.row, 0)] = False
        shadow[:, : max(moved - self.window.col, 0)] = False
        return mask, shadow
