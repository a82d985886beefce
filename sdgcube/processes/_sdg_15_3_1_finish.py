"""The ``sdg-15-3-1`` computation's second stage, block by block over the first stage's layers.

Performance needs each land unit's 90th percentile of mean NDVI over the whole area: two passes
over the blocks give it exactly (``sdgcube.indicators.percentile``). Then each block computes its
classes — performance, LPD, SOC, one-out-all-out, the reporting period's status —, writes its
window of every result raster, and returns its km² per (unit, class); the per-block tables are
summed in a tree. No task holds more than a block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask import delayed
from odc.geo.geobox import GeoBox

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.indicators.degradation import CLASS_NODATA, as_float, one_out_all_out, reporting_status
from sdgcube.indicators.percentile import UnitHistogram, gather_values, rank_bins, unit_references
from sdgcube.indicators.productivity import (
    land_units,
    lpd_class,
    lpd_degradation,
    performance_class,
    ratio_to_reference,
)
from sdgcube.indicators.soc import soc_degradation
from sdgcube.indicators.zonal import class_area_by_unit
from sdgcube.processes._sdg_15_3_1_compute import region_mask
from sdgcube.processes._sdg_15_3_1_inputs import Periods, Sdg1531Inputs
from sdgcube.processes._sdg_15_3_1_plan import Sdg1531Plan
from sdgcube.processes.blockwise import Locks, TiledRaster, blocks_of, create_tiled, tree_sum
from sdgcube.processes.context import JobContext
from sdgcube.processes.regions import Region, unit_index_raster

__all__ = [
    "AREA_CLASSES",
    "Finish",
    "UnitReference",
    "part_names",
    "second_stage",
    "unit_reference",
]

_WATER, _NO_DATA = 2, 3
AREA_CLASSES = (-1, 0, 1, _WATER, _NO_DATA)
"""Columns of the per-unit km² tables: degraded, stable, improved, water, no data."""


@dataclass(frozen=True)
class UnitReference:
    """The performance reference of each land unit: ``values[i]`` for unit ``codes[i]`` (sorted)."""

    codes: np.ndarray
    values: np.ndarray


def part_names(assessments: Sequence[Periods], with_ndvi: bool) -> list[tuple[str, Periods]]:
    """Each result raster's name and the assessment it belongs to."""
    parts = ["trajectory", "state", "performance"] if with_ndvi else []
    parts += ["lpd", "land_cover", "soc", "sdg"]
    named = [
        (f"{'' if p.label == 'baseline' else 'reporting_'}{part}", p)
        for p in assessments
        for part in parts
    ]
    return named + ([("status", assessments[1])] if len(assessments) == 2 else [])


def _units(layers: Mapping[str, np.ndarray], label: str, inside: np.ndarray) -> np.ndarray:
    eco = layers.get(f"{label}_unit_ecological")
    return np.where(inside, land_units(layers[f"{label}_unit_land_cover"], eco), -1)


def _layer_blocks(stage: Mapping[str, xr.DataArray], names: Sequence[str]) -> list[Any]:
    return blocks_of(*(stage[name].data for name in names))


def unit_reference(
    ctx: JobContext,
    stage: Mapping[str, xr.DataArray],
    region: Region,
    label: str,
    percentile: float,
) -> UnitReference:
    """The land units' ``percentile`` of the performance period's mean NDVI, in two passes."""
    names = [n for n in stage if n.startswith(f"{label}_unit_")] + [f"{label}_performance_mean"]
    geobox = stage[names[0]].odc.geobox
    side = stage[names[0]].data.chunksize
    windows = [
        (r, c)
        for r in range(0, geobox.shape[0], side[0])
        for c in range(0, geobox.shape[1], side[1])
    ]

    def units_and_mean(
        blocks: Sequence[np.ndarray], window: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        layers = dict(zip(names, blocks, strict=True))
        (r, c), (h, w) = window, blocks[0].shape
        return _units(layers, label, region_mask(region, geobox[r : r + h, c : c + w])), layers[
            names[-1]
        ]

    def histogram(window: tuple[int, int], *blocks: np.ndarray) -> UnitHistogram:
        units, mean = units_and_mean(blocks, window)
        return UnitHistogram.of(mean, units)

    blocks = _layer_blocks(stage, names)
    parts = [delayed(histogram)(w, *b) for w, b in zip(windows, blocks, strict=True)]
    ranks = rank_bins(
        ctx.compute(tree_sum(parts), start=60, end=64, message="performance: pass 1"), percentile
    )

    def gather(window: tuple[int, int], *blocks: np.ndarray) -> Any:
        units, mean = units_and_mean(blocks, window)
        return gather_values(mean, units, ranks)

    gathered = ctx.compute([delayed(gather)(w, *b) for w, b in zip(windows, blocks, strict=True)],
                           start=64, end=68, message="performance: pass 2")  # fmt: skip
    return UnitReference(ranks.codes, unit_references(ranks, gathered))


def _assess(
    layers: Mapping[str, np.ndarray], inputs: Sdg1531Inputs, periods: Periods, inside: np.ndarray,
    reference: UnitReference | None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """One assessment's int8 class rasters of one block (CLASS_NODATA = nodata)."""
    label = periods.label
    out: dict[str, np.ndarray] = {}
    if reference is not None:
        ratio = ratio_to_reference(layers[f"{label}_performance_mean"], _units(layers, label, inside),
                                   reference.codes, reference.values)  # fmt: skip
        out["trajectory"] = layers[f"{label}_trajectory"].astype(np.int8)
        out["state"] = layers[f"{label}_state"].astype(np.int8)
        out["performance"] = performance_class(
            ratio, threshold=inputs.performance_params().threshold
        )
        out["lpd"] = lpd_class(out["trajectory"], out["state"], out["performance"])
    else:
        lpd = layers[f"{label}_lpd"]
        out["lpd"] = np.where(np.isin(lpd, (1, 2, 3, 4, 5)), lpd, CLASS_NODATA).astype(np.int8)
    out["land_cover"] = layers[f"{label}_land_cover"].astype(np.int8)
    out["soc"] = soc_degradation(layers[f"{label}_soc_change"], params=inputs.soc_params())
    out["sdg"] = one_out_all_out(lpd_degradation(out["lpd"]), out["land_cover"], out["soc"])
    return out


def _areas(
    sdg: np.ndarray, water: np.ndarray, units: np.ndarray, area_km2: np.ndarray, n_units: int
) -> np.ndarray:
    summary = np.where(water, _WATER, np.where(sdg == CLASS_NODATA, _NO_DATA, sdg)).astype(np.int8)
    return class_area_by_unit(summary, units, area_km2, n_units=n_units, class_values=AREA_CLASSES)


@dataclass(frozen=True)
class Finish:
    """The per-block task of the second stage (picklable: it travels to the workers)."""

    inputs: Sdg1531Inputs
    region: Region
    geobox: GeoBox
    assessments: tuple[Periods, ...]
    references: Mapping[str, UnitReference]
    files: Mapping[str, TiledRaster]
    """Part name → its result raster (see ``part_names``)."""
    names: tuple[str, ...]
    """The stage layers, in the order the blocks come."""
    locks: Locks

    @property
    def columns(self) -> int:
        return len(AREA_CLASSES) * (2 if len(self.assessments) == 2 else 1)

    def __call__(self, *blocks: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (top, bottom), (left, right) = block_info[0]["array-location"]
        part = self.geobox[top:bottom, left:right]
        layers = dict(zip(self.names, blocks, strict=True))
        inside = region_mask(self.region, part)
        results = [
            _assess(layers, self.inputs, p, inside, self.references.get(p.label))
            for p in self.assessments
        ]
        rasters = {f"{'' if p.label == 'baseline' else 'reporting_'}{k}": v
                   for p, r in zip(self.assessments, results, strict=True) for k, v in r.items()}  # fmt: skip
        if len(results) == 2:
            rasters["status"] = reporting_status(results[0]["sdg"], results[1]["sdg"])
        for name, raster in self.files.items():
            values = np.where(inside, as_float(rasters[name]), np.nan).astype(np.float32)
            with self.locks(str(raster.path)):
                raster.write(values[None], top, left)
        units, area = unit_index_raster(self.region, part), pixel_area_km2(part)
        n = len(self.region.units)
        tables = [_areas(r["sdg"], layers[f"{p.label}_water"] > 0, units, area, n)
                  for p, r in zip(self.assessments[:1], results, strict=False)]  # fmt: skip
        if len(results) == 2:
            water = layers[f"{self.assessments[1].label}_water"] > 0
            tables.append(_areas(rasters["status"], water, units, area, n))
        return np.concatenate(tables, axis=1)[None, None]


def second_stage(
    ctx: JobContext,
    plan: Sdg1531Plan,
    stage: Mapping[str, xr.DataArray],
    file_names: Mapping[str, str],
) -> tuple[dict[str, TiledRaster], np.ndarray]:
    """Write each result raster (part → file name in the job's folder) block by block; the km² per
    (unit, class) of the baseline, and of the status after it, summed over the blocks."""
    percentile = plan.inputs.performance_params().percentile
    references = {p.label: unit_reference(ctx, stage, plan.region, p.label, percentile)
                  for p in plan.assessments if f"{p.label}_performance_mean" in stage}  # fmt: skip
    first = next(iter(stage.values()))
    geobox = first.odc.geobox
    files = {
        part: create_tiled(ctx.work_dir / name, geobox, [part]) for part, name in file_names.items()
    }
    finish = Finish(
        plan.inputs,
        plan.region,
        geobox,
        plan.assessments,
        references,
        files,
        tuple(stage),
        ctx.locks,
    )
    n_y, n_x = first.data.numblocks
    per_block = da.map_blocks(
        finish, *(layer.data for layer in stage.values()), dtype=np.float64,
        chunks=((1,) * n_y, (1,) * n_x, (plan.n_units,), (finish.columns,)), new_axis=[2, 3],
    )  # fmt: skip
    areas = ctx.compute(per_block, start=68, end=84, message="land productivity dynamics, one-out-all-out, writing the rasters",
                        reduce=lambda blocks: blocks.sum(axis=(0, 1)))  # fmt: skip
    return files, np.asarray(areas)
