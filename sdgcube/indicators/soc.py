"""Soil organic carbon (SOC) degradation for SDG 15.3.1: percent change of the stock from a baseline
to a target year.

Stocks are float (t/ha; any unit, it cancels) with NaN for no data. Change = (target − baseline) × 100 /
baseline %; a baseline ≤ 0 or pixels that were water at the baseline give no data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdgcube.indicators.degradation import CLASS_NODATA, DEGRADED, IMPROVED, STABLE

__all__ = ["SocParams", "soc_degradation", "soc_percent_change"]


@dataclass(frozen=True)
class SocParams:
    """SOC change thresholds in percent (UNCCD GPG v2 defaults)."""

    degraded_pct: float = -10.0
    """A change ≤ this is degraded."""
    improved_pct: float = 10.0
    """A change ≥ this is improved."""

    def __post_init__(self) -> None:
        if not self.degraded_pct < self.improved_pct:
            raise ValueError(
                f"degraded_pct {self.degraded_pct} must be below improved_pct {self.improved_pct}"
            )


def soc_percent_change(
    baseline: np.ndarray, target: np.ndarray, *, baseline_water: np.ndarray | None = None
) -> np.ndarray:
    """float32 (target − baseline) / baseline × 100; NaN where either is NaN, baseline ≤ 0, or
    ``baseline_water`` is True."""
    b = np.asarray(baseline, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if b.shape != t.shape:
        raise ValueError(f"baseline {b.shape} and target {t.shape} SOC differ in shape")
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(b > 0, (t - b) * 100.0 / b, np.nan)  # exact at ±10 % for integer stocks
    if baseline_water is not None:
        change = np.where(np.asarray(baseline_water, dtype=bool), np.nan, change)
    return change.astype(np.float32)


def soc_degradation(change_pct: np.ndarray, *, params: SocParams = SocParams()) -> np.ndarray:
    """int8 −1 where change ≤ ``degraded_pct``, 1 where ≥ ``improved_pct``, 0 between, −128 where NaN."""
    change = np.asarray(change_pct, dtype=np.float64)
    classes = np.where(
        change <= params.degraded_pct,
        DEGRADED,
        np.where(change >= params.improved_pct, IMPROVED, STABLE),
    )
    return np.where(np.isnan(change), CLASS_NODATA, classes).astype(np.int8)
