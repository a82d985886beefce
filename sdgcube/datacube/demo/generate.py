"""Writing and indexing the demo archive: every product, every year, with planted events and truth."""

from __future__ import annotations

import functools
import json
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from affine import Affine
from datacube import Datacube

from sdgcube.datacube.archive import AssetWriter, dataset_dir, write_dataset
from sdgcube.datacube.cog import atomic_path, write_cog
from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.chips import CHIP_PIXEL, CHIP_SIZE, Chip, make_chip
from sdgcube.datacube.demo.landscape import CRS, GRIDS, Landscape, make_landscape
from sdgcube.datacube.demo.truth import admin_units_geojson, events_geojson, truth_document
from sdgcube.datacube.indexing import index_item, write_archive_catalog
from sdgcube.datacube.stac_items import BandMeta, RasterAsset
from sdgcube.datacube.vectors import vector_store_at
from sdgcube.errors import InvalidRequest

__all__ = ["CHIPS_PER_SIZE", "SIZES", "DemoJob", "demo_jobs", "generate_demo"]

SIZES = tuple(GRIDS)
CHIPS_PER_SIZE = {"small": 4, "medium": 16, "large": 64}
_NAMESPACE = uuid.UUID("3d5c5a8e-4a0b-4b8e-9a43-5b8d0e7f1c22")
_SR_BANDS = (
    ("blue", "blue"), ("green", "green"), ("red", "red"),
    ("nir08", "nir08"), ("swir16", "swir16"), ("swir22", "swir22"),
)  # fmt: skip
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoJob:
    """One dataset of the demo archive, written on demand."""

    product: str
    when: datetime
    key: str
    write_assets: AssetWriter


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _band_asset(
    folder: Path, name: str, data: np.ndarray, transform: Affine, *, nodata: float | None,
    unit: str, scale: float | None = None, categorical: bool = False, common_name: str | None = None,
) -> RasterAsset:  # fmt: skip
    path = folder / f"{name}.tif"
    write_cog(data, path, crs=CRS, transform=transform, nodata=nodata, categorical=categorical)
    band = BandMeta(name, str(data.dtype), nodata, unit=unit, scale=scale, common_name=common_name)
    return RasterAsset(name, path, (band,), CRS, data.shape[-2:], transform)


def _single(ls: Landscape, name: str, make: Callable[[], np.ndarray], **band: Any) -> AssetWriter:
    return lambda folder: [_band_asset(folder, name, make(), ls.grid.transform, **band)]


def _composite_writer(ls: Landscape, year: int, rng: np.random.Generator) -> AssetWriter:
    def write(folder: Path) -> list[RasterAsset]:
        bands = ts.annual_composite(ls, year, rng)
        assets = [
            _band_asset(folder, name, bands[name], ls.grid.transform, nodata=ts.SR_NODATA,
                        unit="1", scale=0.0001, common_name=common)
            for name, common in _SR_BANDS
        ]  # fmt: skip
        assets.append(
            _band_asset(folder, "pixel_quality", bands["pixel_quality"], ls.grid.transform,
                        nodata=1, unit="bit_index", categorical=True)
        )  # fmt: skip
        return assets

    return write


def _built_up_uint8(ls: Landscape, year: int) -> np.ndarray:
    return ts.built_up(ls, year).astype(np.uint8)


def _chip_origin(ls: Landscape, index: int, count: int) -> Affine:
    """Chips tile the town centre in a square block, 128 m each."""
    side = int(np.ceil(np.sqrt(count)))
    t = ls.grid.transform
    centre = ls.shapes["town"].centroid
    x0 = t.c + centre.x * t.a - side * CHIP_SIZE * CHIP_PIXEL / 2
    y0 = t.f + centre.y * t.e + side * CHIP_SIZE * CHIP_PIXEL / 2
    row, col = divmod(index, side)
    return Affine(
        CHIP_PIXEL,
        0,
        x0 + col * CHIP_SIZE * CHIP_PIXEL,
        0,
        -CHIP_PIXEL,
        y0 - row * CHIP_SIZE * CHIP_PIXEL,
    )


def _chip_jobs(
    ls: Landscape, count: int, seed: int, truth: list[dict[str, Any]]
) -> Iterator[DemoJob]:
    when = datetime(2020, 6, 1, tzinfo=UTC)
    for index in range(count):
        chip = make_chip(_rng(seed, f"chip/{index}"))
        transform = _chip_origin(ls, index, count)
        pixels = chip.building_pixels
        truth.append({"chip": index, "buildings": chip.buildings, "building_pixels": pixels,
                      "building_area_m2": pixels * CHIP_PIXEL**2,
                      "footprint_area_m2": round(chip.footprint_area_m2, 2)})  # fmt: skip

        def rgb(
            folder: Path, chip: Chip = chip, transform: Affine = transform
        ) -> list[RasterAsset]:
            return [
                _band_asset(
                    folder, name, chip.rgb[i], transform, nodata=0, unit="1", common_name=name
                )
                for i, name in enumerate(("red", "green", "blue"))
            ]

        def labels(
            folder: Path, chip: Chip = chip, transform: Affine = transform
        ) -> list[RasterAsset]:
            return [
                _band_asset(
                    folder,
                    "building",
                    chip.labels,
                    transform,
                    nodata=255,
                    unit="class",
                    categorical=True,
                )
            ]

        key = f"{index}of{count}"  # a chip's place depends on how many there are
        yield DemoJob("hires_rgb", when, f"hires_rgb/{key}", rgb)
        yield DemoJob("building_labels", when, f"building_labels/{key}", labels)


def demo_jobs(
    ls: Landscape, chips: int, seed: int, chip_truth: list[dict[str, Any]]
) -> Iterator[DemoJob]:
    """Every dataset of the archive, in time order within each product."""
    for year in ts.YEARS:
        when = datetime(year, 7, 1, tzinfo=UTC)
        yield DemoJob(
            "sr_annual", when, f"sr/{year}", _composite_writer(ls, year, _rng(seed, f"sr/{year}"))
        )
        yield DemoJob("land_cover", when, f"lc/{year}",
                      _single(ls, "land_cover", functools.partial(ts.land_cover, ls, year), nodata=0, unit="class", categorical=True))  # fmt: skip
        gap = int(_rng(seed, f"gap/{year}").integers(len(ts.QUARTER_DATES)))
        for quarter, (month, day) in enumerate(ts.QUARTER_DATES):
            key = f"water/{year}/{quarter}"
            rng = _rng(seed, key)
            make = functools.partial(ts.water_observation, ls, year, quarter, gap, rng)
            yield DemoJob("surface_water", datetime(year, month, day, tzinfo=UTC), key,
                          _single(ls, "water", make, nodata=255, unit="class", categorical=True))  # fmt: skip
    for year in ts.BUILT_UP_YEARS:
        yield DemoJob("built_up", datetime(year, 7, 1, tzinfo=UTC), f"built/{year}",
                      _single(ls, "built_up", functools.partial(_built_up_uint8, ls, year), nodata=255, unit="class", categorical=True))  # fmt: skip
    for year in ts.POPULATION_YEARS:
        yield DemoJob("population", datetime(year, 7, 1, tzinfo=UTC), f"pop/{year}",
                      _single(ls, "population", functools.partial(ts.population, ls, year), nodata=float("nan"), unit="persons"))  # fmt: skip
    for year in ts.SOC_YEARS:
        rng = _rng(seed, f"soc/{year}")
        yield DemoJob("soil_organic_carbon", datetime(year, 7, 1, tzinfo=UTC), f"soc/{year}",
                      _single(ls, "soc", functools.partial(ts.soil_carbon, ls, year, rng), nodata=ts.SOC_NODATA, unit="t/ha"))  # fmt: skip
    yield from _chip_jobs(ls, chips, seed, chip_truth)


def _write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def _remove_previous(dc: Datacube, demo_dir: Path, keep: set[str]) -> None:
    """Drop the datasets of an earlier demo archive of another size or seed."""
    manifest = demo_dir / "manifest.json"
    if not manifest.exists():
        return
    old = [
        entry for entry in json.loads(manifest.read_text())["datasets"] if entry["id"] not in keep
    ]
    ids = [entry["id"] for entry in old if dc.index.datasets.has(entry["id"])]
    if ids:
        dc.index.datasets.archive(ids)
        dc.index.datasets.purge(ids)
    for entry in old:
        item = Path(entry["item"])
        if item.parent.is_dir():
            for child in item.parent.iterdir():
                child.unlink()
            item.parent.rmdir()


def generate_demo(
    dc: Datacube,
    archive_dir: Path,
    demo_dir: Path,
    *,
    size: str = "small",
    seed: int = 42,
    chips: int | None = None,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write, index and catalogue the demo archive; return its truth document.

    ``chips`` overrides the size's number of 0.5 m chips (training a model wants more).
    Deterministic per (size, seed, chips). Datasets already indexed are kept, so a re-run is quick."""
    if size not in GRIDS:
        raise InvalidRequest(f"demo size {size!r} is not one of {', '.join(SIZES)}")
    if chips is not None and not 1 <= chips <= 1024:
        raise InvalidRequest(f"the number of chips must be 1 to 1024, not {chips}")
    ls = make_landscape(GRIDS[size], np.random.default_rng(seed))
    chip_truth: list[dict[str, Any]] = []
    jobs = list(demo_jobs(ls, chips or CHIPS_PER_SIZE[size], seed, chip_truth))
    if on_total:
        on_total(len(jobs))
    ids = {job.key: str(uuid.uuid5(_NAMESPACE, f"{size}/{seed}/{job.key}")) for job in jobs}
    _remove_previous(dc, demo_dir, set(ids.values()))
    manifest = []
    for job in jobs:
        dataset_id = ids[job.key]
        item_path = dataset_dir(archive_dir, job.product, job.when, dataset_id) / "item.json"
        if not (dc.index.datasets.has(dataset_id) and item_path.exists()):
            item_path = write_dataset(
                archive_dir, product=job.product, when=job.when, dataset_id=dataset_id,
                write_assets=job.write_assets, properties={"sdgcube:demo": f"{size}/{seed}"},
            )  # fmt: skip
            index_item(dc, pystac.Item.from_file(str(item_path)), job.product)
        manifest.append({"id": dataset_id, "product": job.product, "item": str(item_path)})
        if progress:
            progress(job.product)
    write_archive_catalog(archive_dir)
    truth = truth_document(ls, size=size, seed=seed, chips=chip_truth)
    _write_json(demo_dir / "truth.json", truth)
    _write_json(demo_dir / "events.geojson", events_geojson(ls))
    _write_json(demo_dir / "admin_units.geojson", admin_units_geojson(ls))
    _write_json(demo_dir / "manifest.json", {"size": size, "seed": seed, "datasets": manifest})
    # The districts become the ``admin_units`` collection, in the same database as the index.
    with vector_store_at(dc.index.environment.db_url) as store:
        store.load_file(
            demo_dir / "admin_units.geojson",
            name="admin_units",
            id_field="unit_id",
            title="Demo districts",
        )
    return truth
