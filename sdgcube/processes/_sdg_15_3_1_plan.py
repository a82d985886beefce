"""``sdg-15-3-1``'s checked request: the region and its units, the periods of each assessment and
every read (product, bands, cloud masking, the datasets of exactly the years used), resolved while
the request is open. The job loads these datasets and asks the index nothing; a request that cannot
work is refused here, naming the input at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sdgcube.datacube.cube import Cube
from sdgcube.errors import NoData
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes.indicator import IndicatorPlan
from sdgcube.processes.reads import Read, ReadSpec, area_input_name, product_bands, resolve_read
from sdgcube.processes.regions import Region, resolve_region

__all__ = ["Sdg1531Plan", "latest_year", "plan_sdg_15_3_1"]

_PRODUCT_INPUTS = (
    "ndvi_product",
    "lpd_product",
    "land_cover_product",
    "soc_product",
    "ecological_units_product",
)


@dataclass(frozen=True)
class Sdg1531Plan(IndicatorPlan):
    """Reads ``ndvi`` or ``lpd``, ``land_cover``, ``soc`` and perhaps ``ecological_units``."""

    assessments: tuple[Periods, ...] = ()
    """The baseline, then the reporting period if one is asked for."""

    @property
    def ndvi_years(self) -> tuple[int, int]:
        """The first and last NDVI year any assessment needs."""
        return _ndvi_span(self.assessments)


def _ndvi_span(assessments: Sequence[Periods]) -> tuple[int, int]:
    return min(p.ndvi_years[0] for p in assessments), max(p.ndvi_years[1] for p in assessments)


def latest_year(years: Sequence[int], year: int) -> int:
    """The latest of ``years`` up to ``year``; the first of them if all are later."""
    earlier = [y for y in years if y <= year]
    return max(earlier) if earlier else min(years)


def _span(years: Sequence[int]) -> str:
    if years and years[-1] - years[0] + 1 == len(years):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(map(str, years)) or "no datasets"


def _keep(read: Read, years: Iterable[int]) -> Read:
    """The read with only the datasets of ``years`` (what the job loads and the lineage lists)."""
    return replace(read, datasets=read.in_years(set(years)))


def _productivity(inputs: Sdg1531Inputs, read: Read, assessments: Sequence[Periods]) -> Read:
    if inputs.lpd_product:
        years = []
        for periods in assessments:
            if not any(y <= periods.trajectory[1] for y in read.years):
                raise NoData(f"input 'lpd_product': {inputs.lpd_product!r} has no dataset up to {periods.trajectory[1]}, "
                             f"the end of the {periods.label} trajectory_period")  # fmt: skip
            years.append(latest_year(read.years, periods.trajectory[1]))
        return _keep(read, years)
    for periods in assessments:
        for name, (first, last) in periods.ndvi_periods().items():
            if not read.years or first < read.years[0] or last > read.years[-1]:
                raise NoData(f"input {name!r} {first}-{last} lies outside the years of {inputs.ndvi_product!r} "
                             f"({_span(read.years)})")  # fmt: skip
    first, last = _ndvi_span(assessments)
    return _keep(read, range(first, last + 1))


def _exact_years(read: Read, kind: str, assessments: Sequence[Periods]) -> list[int]:
    """The baseline and target years of ``kind`` (land_cover, soc); each must have a dataset."""
    years = []
    for periods in assessments:
        for name, year in periods.years(kind).items():
            if year not in read.years:
                raise NoData(f"input {name!r}: {read.product!r} has no dataset in {year} (it has {_span(read.years)})")  # fmt: skip
            years.append(year)
    return years


def _read(
    cube: Cube, region: Region, inputs: Sdg1531Inputs, field: str, **bands: str | None
) -> Read:
    spec = ReadSpec(getattr(inputs, field), field, bands=bands or {field: None},
                    mask_clouds=inputs.mask_clouds if field == "ndvi_product" else False)  # fmt: skip
    return resolve_read(cube, spec, area=region.geometry, area_field=area_input_name(inputs))


def plan_sdg_15_3_1(inputs: Sdg1531Inputs, cube: Cube) -> Sdg1531Plan:
    for name in _PRODUCT_INPUTS:
        if getattr(inputs, name) is not None and not (
            name == "ndvi_product" and inputs.lpd_product
        ):
            product_bands(cube, getattr(inputs, name), field=name)
    assessments = (inputs.baseline(), *filter(None, [inputs.reporting()]))
    region = resolve_region(inputs, cube, inputs.reference_product)
    if inputs.lpd_product:
        productivity = _read(cube, region, inputs, "lpd_product")
    elif inputs.ndvi_band:
        productivity = _read(cube, region, inputs, "ndvi_product", ndvi_band=inputs.ndvi_band)
    else:
        productivity = _read(cube, region, inputs, "ndvi_product", red_band=inputs.red_band,
                             nir_band=inputs.nir_band)  # fmt: skip
    reads = {
        "lpd" if inputs.lpd_product else "ndvi": _productivity(inputs, productivity, assessments)
    }
    land_cover = _read(cube, region, inputs, "land_cover_product")
    soc = _read(cube, region, inputs, "soc_product")
    lc_years = _exact_years(land_cover, "land_cover", assessments)
    soc_years = _exact_years(soc, "soc", assessments)
    # Soil carbon is not assessed under water of the land cover at its baseline year; land units of
    # performance come from the land cover at the start of the performance period.
    lc_years += [latest_year(land_cover.years, p.soc[0]) for p in assessments]
    starts = [] if inputs.lpd_product else [p.performance[0] for p in assessments]
    lc_years += [latest_year(land_cover.years, year) for year in starts]
    reads |= {"land_cover": _keep(land_cover, lc_years), "soc": _keep(soc, soc_years)}
    if inputs.ecological_units_product and starts:
        eco = _read(cube, region, inputs, "ecological_units_product")
        reads["ecological_units"] = _keep(eco, [latest_year(eco.years, y) for y in starts])
    return Sdg1531Plan(inputs, region, reads, assessments)
