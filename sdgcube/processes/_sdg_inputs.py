"""What the SDG indicator processes (6.6.1, 15.1.1, 11.3.1, 13.1.1, burnt area) share.

Input pieces (year periods, the base input model), the checks that refuse a request naming the
input at fault (unknown product or band, a period outside the archive, an area without data), the
grid a region is computed on, and the lineage and table rows every result carries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import numpy as np
import xarray as xr
from datacube.model import Dataset
from odc.geo.geom import Geometry
from pydantic import AfterValidator, Field

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.xr_indicators import UnitRaster
from sdgcube.errors import InvalidRequest, NoData, UnknownProduct
from sdgcube.processes.base import ProcessInputs
from sdgcube.processes.context import JobContext
from sdgcube.processes.regions import Region, RegionInputs, resolve_region, unit_index_raster
from sdgcube.processes.results import publish_raster, result_product_name, software_version

__all__ = [
    "IndicatorInputs",
    "Outputs",
    "RegionGrid",
    "YearPeriod",
    "area_input_name",
    "check_area_has_data",
    "check_band",
    "check_product",
    "check_years",
    "clean",
    "compute_outputs",
    "dataset_years",
    "input_datasets",
    "lineage",
    "mid_year",
    "period_years",
    "publish_rasters",
    "resolve",
    "result_outputs",
    "scaled",
    "unit_rows",
]


def period_years(period: str) -> tuple[int, ...]:
    """Every year of ``"2000/2004"`` (or the one year of ``"2018"``)."""
    start, _, end = period.partition("/")
    return tuple(range(int(start), int(end or start) + 1))


def _ordered(period: str) -> str:
    years = period_years(period)
    if not years:
        raise ValueError(f"period {period!r} ends before it starts")
    return period


YearPeriod = Annotated[str, Field(pattern=r"^\d{4}(/\d{4})?$"), AfterValidator(_ordered)]
"""A year ``"2018"`` or an inclusive range of years ``"2000/2004"``."""


class IndicatorInputs(ProcessInputs, RegionInputs):
    """Base of the indicator processes' inputs: the area and its reporting units."""


def result_outputs(description: str) -> dict[str, Any]:
    """The OGC output description shared by the indicator processes: one JSON document."""
    return {
        "result": {
            "title": "Indicator result",
            "description": description,
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    }


def mid_year(year: int) -> datetime:
    """The time stamp a result for ``year`` is registered with."""
    return datetime(year, 7, 1)


# --- checks that name the input at fault ------------------------------------------------------------


def check_product(cube: Cube, name: str, *, field: str) -> None:
    try:
        cube.product(name)
    except UnknownProduct:
        raise InvalidRequest(f"input {field!r}: unknown product {name!r}") from None


def check_band(cube: Cube, product: str, band: str | None, *, field: str) -> str:
    """The measurement ``band`` names (an alias is fine); None means the product's first one."""
    measurements = cube.product(product).measurements
    if band is None:
        return next(iter(measurements))
    aliases = {alias: name for name, m in measurements.items() for alias in m.get("aliases", [])}
    if band not in measurements and band not in aliases:
        raise InvalidRequest(f"input {field!r}: product {product!r} has no band {band!r}")
    return aliases.get(band, band)


def check_years(cube: Cube, product: str, years: Iterable[int], *, field: str) -> None:
    """Every one of ``years`` must have datasets of ``product``."""
    wanted = sorted(set(years))
    held = dataset_years(cube.datasets(product, (f"{wanted[0]}", f"{wanted[-1]}")))
    missing = [y for y in wanted if y not in held]
    if missing:
        have = sorted(dataset_years(cube.datasets(product)))
        span = f"{have[0]}–{have[-1]}" if have else "none"
        raise NoData(f"input {field!r}: product {product!r} has no datasets in {_years_text(missing)} "
                     f"(years held: {span})")  # fmt: skip


def dataset_years(datasets: Iterable[Dataset]) -> set[int]:
    """The years the datasets' centre times fall in."""
    return {ds.center_time.year for ds in datasets if ds.center_time is not None}


def _years_text(years: Sequence[int]) -> str:
    if len(years) <= 4:
        return ", ".join(str(y) for y in years)
    return f"{years[0]}…{years[-1]} ({len(years)} years)"


def area_input_name(inputs: RegionInputs) -> str:
    for name in ("bbox", "geometry", "unit_ids"):
        if getattr(inputs, name) is not None:
            return name
    return "units_layer"


def input_datasets(
    cube: Cube, product: str, region: Region, time: tuple[str, str] | str | None
) -> list[Dataset]:
    query: dict[str, Any] = {
        "product": product,
        "geopolygon": Geometry(region.geometry, "EPSG:4326"),
    }
    if time is not None:
        query["time"] = time if isinstance(time, tuple) else (time, time)
    return sorted(cube.dc.find_datasets(**query), key=lambda ds: (ds.center_time, str(ds.id)))


def check_area_has_data(cube: Cube, inputs: RegionInputs, region: Region, product: str,
                        time: tuple[str, str] | str | None) -> None:  # fmt: skip
    if not input_datasets(cube, product, region, time):
        raise NoData(
            f"input {area_input_name(inputs)!r}: product {product!r} has no data in the requested area"
        )


# --- the grid, the lineage, the rows ----------------------------------------------------------------


@dataclass(frozen=True)
class RegionGrid:
    """A resolved region and the callable that burns its units into any grid."""

    region: Region

    @property
    def n_units(self) -> int:
        return len(self.region.units)

    @property
    def units(self) -> UnitRaster:
        return partial(unit_index_raster, self.region)

    def inside(self, array: xr.DataArray) -> np.ndarray:
        """bool (y, x): pixels of ``array``'s grid inside some unit."""
        return unit_index_raster(self.region, array.odc.geobox) > 0


@dataclass(frozen=True)
class Outputs:
    """What one ``compute_outputs`` call brought into memory."""

    tables: dict[str, np.ndarray]
    rasters: xr.DataArray
    """float32 (layer, y, x), NaN no data, on the grid of the inputs."""

    def raster(self, name: str) -> xr.DataArray:
        return self.rasters.sel(layer=name, drop=True).rename(name)


def compute_outputs(ctx: JobContext, *, tables: dict[str, xr.DataArray], rasters: dict[str, xr.DataArray],
                    start: float, end: float, message: str) -> Outputs:  # fmt: skip
    """Compute every output of a process in one graph, so shared inputs are read once.

    The rasters travel as one float32 stack: when an output is also an input of another output (a
    class raster and the zonal table summing it), xarray's Dataset hands dask a graph whose
    optimisation drops that output (pydata/xarray#11329, "Missing dependency")."""
    layers = xr.DataArray(list(rasters), dims="layer", name="layer")
    stack = xr.concat([r.astype("float32") for r in rasters.values()], dim=layers, coords="minimal")
    computed = ctx.compute(xr.Dataset({**{f"table_{k}": v for k, v in tables.items()}, "rasters": stack}),
                           start=start, end=end, message=message)  # fmt: skip
    return Outputs(
        {k: np.asarray(computed[f"table_{k}"].values) for k in tables}, computed["rasters"]
    )


def publish_rasters(ctx: JobContext, grid: RegionGrid, outputs: Outputs, *, prefix: str, when: datetime,
                    descriptions: dict[str, str], properties: dict[str, Any]) -> dict[str, str]:  # fmt: skip
    """Register each raster (NaN outside the region's units) as product ``<prefix>_<key>_<job>``."""
    inside = grid.inside(outputs.rasters)
    names = {}
    for key, description in descriptions.items():
        name = result_product_name(f"{prefix}_{key}", ctx.job_id)
        publish_raster(ctx, outputs.raster(key).where(inside), product=name, band_name=key, when=when,
                       description=description, lineage=properties)  # fmt: skip
        names[key] = name
    return names


def lineage(
    process_id: str, inputs: ProcessInputs, datasets: dict[str, list[Dataset]]
) -> dict[str, Any]:
    """STAC properties recording how to re-run the job: process, inputs, input datasets, software."""
    return {
        "sdgcube:process": process_id,
        "sdgcube:inputs": inputs.model_dump(mode="json"),
        "sdgcube:input_datasets": sorted(
            {str(ds.id) for group in datasets.values() for ds in group}
        ),
        "sdgcube:input_products": sorted(datasets),
        "sdgcube:software": software_version(),
    }


def scaled(
    data: xr.Dataset, cube: Cube, product: str, bands: Sequence[str]
) -> dict[str, xr.DataArray]:
    """float32 bands in physical units: value × scale_factor + add_offset of the product's definition."""
    measurements = cube.product(product).measurements
    out = {}
    for band in bands:
        m = measurements[band]
        scale, offset = float(m.get("scale_factor", 1.0)), float(m.get("add_offset", 0.0))
        out[band] = data[band].astype("float32") * scale + offset
    return out


def clean(value: Any, digits: int = 6) -> Any:
    """A JSON-safe number: NaN and infinities become None, floats are rounded."""
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return None if not math.isfinite(number) else round(number, digits)
    if isinstance(value, np.integer):
        return int(value)
    return value


def unit_rows(
    region: Region, columns: Mapping[str, np.ndarray | Sequence[Any]]
) -> tuple[dict[str, Any], ...]:
    """One row per unit: ``unit_id``, ``unit_name``, then each column's value for that unit."""
    return tuple(
        {"unit_id": unit.id, "unit_name": unit.name, **{k: clean(v[i]) for k, v in columns.items()}}
        for i, unit in enumerate(region.units)
    )


def resolve(inputs: RegionInputs, cube: Cube, product: str) -> RegionGrid:
    return RegionGrid(resolve_region(inputs, cube, product))
