"""Exact percentiles of a raster's values per unit, from blocks of the raster seen one at a time.

Pass 1 counts each unit's values in ``BINS`` equal bins over [−1, 1] (NDVI's range; values beyond
fall in the end bins), per block, and the counts are summed. The two order statistics that a
linearly interpolated percentile needs (numpy's default) then lie in known bins, and pass 2
gathers only the values in those bins: sorting them gives the exact order statistics, so the
percentile is the same number as sorting the whole unit. Memory: ``BINS`` counts per unit, and
the values of a few bins per unit.

Units are int64 codes (see ``productivity.land_units``); negative codes and NaN values are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BINS",
    "RankBins",
    "UnitHistogram",
    "UnitValues",
    "gather_values",
    "rank_bins",
    "unit_references",
]

BINS = 4096
_LOW, _HIGH = -1.0, 1.0


def _bin(values: np.ndarray) -> np.ndarray:
    scaled = (values.astype(np.float64) - _LOW) * (BINS / (_HIGH - _LOW))
    return np.clip(np.floor(scaled), 0, BINS - 1).astype(np.int64)


def _valid(values: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if values.shape != units.shape:
        raise ValueError(f"values {values.shape} and units {units.shape} differ in shape")
    valid = np.isfinite(values) & (units >= 0)
    return values[valid].astype(np.float64), units[valid].astype(np.int64)


@dataclass(frozen=True)
class UnitHistogram:
    """Counts of each unit's values per bin: ``codes`` (sorted) × ``BINS``."""

    codes: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, units: np.ndarray) -> UnitHistogram:
        """The histogram of one block."""
        v, u = _valid(values, units)
        codes, index = np.unique(u, return_inverse=True)
        counts = np.bincount(index * BINS + _bin(v), minlength=codes.size * BINS)
        return cls(codes, counts.reshape(codes.size, BINS))

    def __add__(self, other: UnitHistogram) -> UnitHistogram:
        codes = np.union1d(self.codes, other.codes)
        counts = np.zeros((codes.size, BINS), dtype=np.int64)
        counts[np.searchsorted(codes, self.codes)] += self.counts
        counts[np.searchsorted(codes, other.codes)] += other.counts
        return UnitHistogram(codes, counts)


@dataclass(frozen=True)
class RankBins:
    """Per unit (``codes``): the ranks a percentile interpolates between, their bins, and how many
    of the unit's values lie below the first of those bins."""

    codes: np.ndarray
    position: np.ndarray
    """float64 rank (0-based) of the percentile among the unit's sorted values."""
    first_bin: np.ndarray
    last_bin: np.ndarray
    below: np.ndarray


def rank_bins(histogram: UnitHistogram, percentile: float) -> RankBins:
    """Where each unit's ``percentile`` (0–100) lies, from the summed histogram."""
    total = histogram.counts.sum(axis=1)
    position = percentile / 100.0 * (total - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, total - 1)
    cumulative = np.cumsum(histogram.counts, axis=1)
    first = np.array(
        [np.searchsorted(c, r, side="right") for c, r in zip(cumulative, low, strict=True)],
        np.int64,
    )
    last = np.array(
        [np.searchsorted(c, r, side="right") for c, r in zip(cumulative, high, strict=True)],
        np.int64,
    )
    rows = np.arange(histogram.codes.size)
    below = cumulative[rows, first] - histogram.counts[rows, first]
    return RankBins(histogram.codes, position, first, last, below)


@dataclass(frozen=True)
class UnitValues:
    """Values gathered for pass 2: the index of each value's unit in ``RankBins.codes``, and the value."""

    index: np.ndarray
    values: np.ndarray


def gather_values(values: np.ndarray, units: np.ndarray, ranks: RankBins) -> UnitValues:
    """The block's values that fall in their unit's percentile bins."""
    v, u = _valid(values, units)
    index = np.clip(np.searchsorted(ranks.codes, u), 0, max(ranks.codes.size - 1, 0))
    known = ranks.codes[index] == u if ranks.codes.size else np.zeros(u.size, bool)
    bins = _bin(v)
    keep = known & (bins >= ranks.first_bin[index]) & (bins <= ranks.last_bin[index])
    return UnitValues(index[keep], v[keep])


def unit_references(ranks: RankBins, gathered: Sequence[UnitValues]) -> np.ndarray:
    """float64 percentile of each unit of ``ranks`` from every block's gathered values: the order
    statistics below and above its rank, linearly interpolated."""
    index = np.concatenate([g.index for g in gathered]) if gathered else np.zeros(0, np.int64)
    values = np.concatenate([g.values for g in gathered]) if gathered else np.zeros(0)
    order = np.lexsort((values, index))
    index, values = index[order], values[order]
    starts = np.searchsorted(index, np.arange(ranks.codes.size))
    low = np.floor(ranks.position).astype(np.int64)
    high = np.minimum(low + 1, np.ceil(ranks.position).astype(np.int64))
    at_low = values[starts + low - ranks.below]
    at_high = values[starts + np.maximum(high, low) - ranks.below]
    return at_low + (at_high - at_low) * (ranks.position - low)
