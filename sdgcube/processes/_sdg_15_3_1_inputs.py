"""Inputs of ``sdg-15-3-1``: the request model (pydantic, at the edge) and the periods and kernel
parameters it resolves to (frozen dataclasses, inside).

Defaults follow Trends.Earth / UNCCD GPG v2 wherever the demo archive allows: a 2000–2015 baseline
with the trajectory and performance over 2000–2015, state 2000–2012 against 2013–2015 and land cover
2000 → 2015. Soil carbon defaults to 2000 → 2020 because the demo's SOC product has only those two
years (GPG v2 would take 2015 as the target; set ``soc_target_year`` for a product that has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sdgcube.errors import InvalidRequest
from sdgcube.indicators.land_cover import UNCCD_TRANSITION_MATRIX, norm_transition_matrix
from sdgcube.indicators.productivity import PerformanceParams, StateParams
from sdgcube.indicators.soc import SocParams
from sdgcube.indicators.trend import CONFIDENCE_LEVELS, TrajectoryParams
from sdgcube.processes.indicator import IndicatorInputs
from sdgcube.processes.periods import Period, YearPeriod, period_input
from sdgcube.processes.reads import mask_clouds_input

__all__ = ["Periods", "ReportingPeriod", "Sdg1531Inputs"]

MIN_TRAJECTORY_YEARS = 4
"""The smallest n of the exact Mann–Kendall table."""


Year = Annotated[int, Field(ge=1900, le=2100)]
TransitionRow = Annotated[list[Literal[-1, 0, 1]], Field(min_length=7, max_length=7)]


@dataclass(frozen=True)
class Periods:
    """The years one assessment (the baseline or a reporting period) uses; pairs are (first, last)."""

    label: str
    """``baseline`` or ``reporting``; also the input name prefix in messages."""
    trajectory: tuple[int, int]
    state_baseline: tuple[int, int]
    state_recent: tuple[int, int]
    performance: tuple[int, int]
    land_cover: tuple[int, int]
    """(baseline year, target year)."""
    soc: tuple[int, int]
    """(baseline year, target year)."""
    reporting_years: tuple[int, int] | None = None
    """The years a reporting period reports on (None for the baseline)."""

    @property
    def ndvi_years(self) -> tuple[int, int]:
        spans = (self.trajectory, self.state_baseline, self.state_recent, self.performance)
        return min(s[0] for s in spans), max(s[1] for s in spans)

    @property
    def time_period(self) -> str:
        """The period as SDMX ``TIME_PERIOD``: a reporting period's years; for the baseline, its first to
        last year of productivity and land cover."""
        if self.reporting_years is not None:
            return f"{self.reporting_years[0]}-{self.reporting_years[1]}"
        first = min(self.ndvi_years[0], self.land_cover[0])
        return f"{first}-{max(self.ndvi_years[1], self.land_cover[1])}"

    def ndvi_periods(self) -> dict[str, tuple[int, int]]:
        """Input name → period, for messages."""
        prefix = "" if self.label == "baseline" else "reporting_period."
        return {f"{prefix}trajectory_period": self.trajectory, f"{prefix}state_baseline_period": self.state_baseline,
                f"{prefix}state_recent_period": self.state_recent, f"{prefix}performance_period": self.performance}  # fmt: skip

    def years(self, name: str) -> dict[str, int]:
        """Input name → year of ``land_cover`` or ``soc``, for messages."""
        prefix = "" if self.label == "baseline" else "reporting_period."
        first, last = getattr(self, name)
        return {f"{prefix}{name}_baseline_year": first, f"{prefix}{name}_target_year": last}


class ReportingPeriod(BaseModel):
    """A second assessment whose status is reported against the baseline (GPG v2 reporting period).

    Unset periods follow Trends.Earth: a trajectory and performance window as long as the baseline
    trajectory ending in the last reporting year, state = that window's years before the reporting
    period against the reporting years, land cover and SOC from the baseline's target year to the
    last reporting year."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: YearPeriod = Field(
        description="First and last year of the reporting period, e.g. 2016/2019 or [2016, 2019]"
    )
    trajectory_period: YearPeriod | None = period_input(
        None, "Trajectory years; default: see above"
    )
    state_baseline_period: YearPeriod | None = period_input(
        None, "State: the years compared against"
    )
    state_recent_period: YearPeriod | None = period_input(
        None, "State: the recent years; default: years"
    )
    performance_period: YearPeriod | None = period_input(
        None, "Performance years; default: trajectory"
    )
    land_cover_baseline_year: Year | None = Field(
        None, description="Default: the baseline's land_cover_target_year"
    )
    land_cover_target_year: Year | None = Field(
        None, description="Default: the last reporting year"
    )
    soc_baseline_year: Year | None = Field(
        None, description="Default: the baseline's soc_target_year"
    )
    soc_target_year: Year | None = Field(None, description="Default: the last reporting year")


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema with ``$ref`` to ``$defs`` replaced by the definitions themselves (OGC process
    descriptions publish each input's schema on its own, without the model's ``$defs``)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                referenced = resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
                return {**referenced, **{k: resolve(v) for k, v in node.items() if k != "$ref"}}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


class Sdg1531Inputs(IndicatorInputs):
    """Inputs of ``sdg-15-3-1``; every threshold, period and table is a parameter."""

    # Data
    ndvi_product: str = Field(
        "sr_annual",
        description="Product with red and near-infrared bands, or a vegetation-index band, for annual NDVI",
    )
    red_band: str = Field("red", description="Red band of ndvi_product (scale factor applied)")
    nir_band: str = Field(
        "nir08", description="Near-infrared band of ndvi_product (scale factor applied)"
    )
    ndvi_band: str | None = Field(
        None, description="A band of ndvi_product that already holds NDVI (e.g. MODIS or AVHRR NDVI; scale "
        "factor applied), used instead of red_band and nir_band",
    )  # fmt: skip
    mask_clouds: bool | None = mask_clouds_input("ndvi_product: ")
    lpd_product: str | None = Field(
        None, description="A pre-computed land-productivity-dynamics product (classes 1-5) used instead of "
        "computing trajectory, state and performance; its latest time slice up to the end of trajectory_period",
    )  # fmt: skip
    land_cover_product: str = Field(
        "land_cover", description="Land cover in the 7-class UNCCD legend (1-7)"
    )
    soc_product: str = Field(
        "soil_organic_carbon", description="Soil organic carbon stock (e.g. t/ha)"
    )
    ecological_units_product: str | None = Field(
        None, description="Categorical product (e.g. soil taxonomy) combined with land cover into the land units of "
        "productivity performance; land cover alone if unset",
    )  # fmt: skip
    # Periods (the baseline)
    trajectory_period: YearPeriod = period_input(
        "2000/2015", "Years of the productivity trajectory"
    )
    state_baseline_period: YearPeriod = period_input(
        "2000/2012", "Productivity state: baseline years"
    )
    state_recent_period: YearPeriod = period_input("2013/2015", "Productivity state: recent years")
    performance_period: YearPeriod = period_input(
        "2000/2015", "Years of the productivity performance mean"
    )
    land_cover_baseline_year: Year = Field(2000, description="Land cover: baseline year")
    land_cover_target_year: Year = Field(2015, description="Land cover: target year")
    soc_baseline_year: Year = Field(2000, description="Soil organic carbon: baseline year")
    soc_target_year: Year = Field(
        2020, description="Soil organic carbon: target year (the demo has 2000 and 2020)"
    )
    reporting_period: ReportingPeriod | None = Field(
        None, description="A reporting period assessed like the baseline; its status against the baseline and the "
        "change in the proportion of degraded land are reported",
    )  # fmt: skip
    # Trajectory
    trend_method: Literal["ols", "theil_sen"] = Field(
        "ols", description="Slope estimator of the trajectory"
    )
    significance: float = Field(
        0.95, description="Two-sided Mann-Kendall confidence a trend must reach to degrade or improve",
        json_schema_extra={"enum": list(CONFIDENCE_LEVELS)},
    )  # fmt: skip
    trajectory_slope_threshold: float = Field(
        0.001, ge=0, description="|slope| ≤ this (NDVI/year) is no trend"
    )
    trajectory_min_years: int = Field(
        MIN_TRAJECTORY_YEARS,
        ge=MIN_TRAJECTORY_YEARS,
        description="Fewer trajectory years with data is no data",
    )
    # State
    state_range_extension: float = Field(
        0.05, ge=0, description="Baseline NDVI range widened by this at each end"
    )
    state_min_difference: float = Field(
        0.01, ge=0, description="Means differing by ≤ this NDVI are no change"
    )
    state_class_change: int = Field(
        2, ge=1, description="Decile-class change ≤ -this degraded, ≥ this improved"
    )
    # Performance
    performance_percentile: float = Field(
        90, gt=0, le=100, description="Reference percentile within a land unit"
    )
    performance_threshold: float = Field(
        0.5, gt=0, lt=1, description="mean NDVI / reference ≤ this is degraded"
    )
    # Land cover and SOC
    transition_matrix: list[TransitionRow] = Field(
        UNCCD_TRANSITION_MATRIX.tolist(), min_length=7, max_length=7,
        description="7×7 land-cover degradation matrix (row: baseline class, column: target class; tree-covered, "
        "grassland, cropland, wetland, artificial, other land, water body); -1 degraded, 0 stable, 1 improved",
    )  # fmt: skip
    soc_degraded_pct: float = Field(
        -10.0, lt=0, description="SOC change ≤ this percent is degraded"
    )
    soc_improved_pct: float = Field(10.0, gt=0, description="SOC change ≥ this percent is improved")

    @field_validator("significance")
    @classmethod
    def _known_level(cls, value: float) -> float:
        if value not in CONFIDENCE_LEVELS:
            raise ValueError(f"significance {value} must be one of {list(CONFIDENCE_LEVELS)}")
        return value

    @model_validator(mode="after")
    def _trajectory_long_enough(self) -> Sdg1531Inputs:
        if len(self.trajectory_period.years) < MIN_TRAJECTORY_YEARS:
            raise ValueError(
                f"trajectory_period {self.trajectory_period} spans fewer than {MIN_TRAJECTORY_YEARS} years"
            )
        return self

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _inline_refs(super().model_json_schema(*args, **kwargs))

    # --- what the inputs resolve to ---------------------------------------------------------------

    @property
    def reference_product(self) -> str:
        """The product whose grid the results are on: the LPD product if given, else the NDVI product."""
        return self.lpd_product or self.ndvi_product

    def baseline(self) -> Periods:
        return Periods(
            "baseline", _pair(self.trajectory_period), _pair(self.state_baseline_period),
            _pair(self.state_recent_period), _pair(self.performance_period),
            (self.land_cover_baseline_year, self.land_cover_target_year), (self.soc_baseline_year, self.soc_target_year),
        )  # fmt: skip

    def reporting(self) -> Periods | None:
        """The reporting period with Trends.Earth's defaults filled in; InvalidRequest if they clash."""
        rp = self.reporting_period
        if rp is None:
            return None
        first, last = rp.years.first, rp.years.last
        window = last - (self.trajectory_period.last - self.trajectory_period.first)
        trajectory = _pair(rp.trajectory_period or (window, last))
        periods = Periods(
            "reporting", trajectory, _pair(rp.state_baseline_period or (window, first - 1)),
            _pair(rp.state_recent_period or rp.years), _pair(rp.performance_period or trajectory),
            (rp.land_cover_baseline_year or self.land_cover_target_year, rp.land_cover_target_year or last),
            (rp.soc_baseline_year or self.soc_target_year, rp.soc_target_year or last), (first, last),
        )  # fmt: skip
        for name, (a, b) in periods.ndvi_periods().items():
            if a > b:
                raise InvalidRequest(f"input {name!r} resolves to [{a}, {b}]: give it explicitly")
        if trajectory[1] - trajectory[0] + 1 < MIN_TRAJECTORY_YEARS:
            raise InvalidRequest(f"input 'reporting_period.trajectory_period' {list(trajectory)} spans fewer than "
                                 f"{MIN_TRAJECTORY_YEARS} years")  # fmt: skip
        return periods

    def trajectory_params(self) -> TrajectoryParams:
        return TrajectoryParams(method=self.trend_method, confidence=self.significance,
                                slope_threshold=self.trajectory_slope_threshold, min_years=self.trajectory_min_years)  # fmt: skip

    def state_params(self) -> StateParams:
        return StateParams(range_extension=self.state_range_extension, min_difference=self.state_min_difference,
                           class_change=self.state_class_change)  # fmt: skip

    def performance_params(self) -> PerformanceParams:
        return PerformanceParams(
            percentile=self.performance_percentile, threshold=self.performance_threshold
        )

    def soc_params(self) -> SocParams:
        return SocParams(degraded_pct=self.soc_degraded_pct, improved_pct=self.soc_improved_pct)

    def matrix(self) -> np.ndarray:
        return norm_transition_matrix(self.transition_matrix)


def _pair(period: Period | tuple[int, int]) -> tuple[int, int]:
    """(first, last); a pair that ends before it starts is left for ``reporting`` to refuse."""
    return (period.first, period.last) if isinstance(period, Period) else period
