"""Writing and indexing the demo archive: every product, every year, with planted events and truth.

The datasets are written in parallel worker processes (:mod:`sdgcube.datacube.demo.render`) and
indexed here, one by one as they finish."""

from __future__ import annotations

import json
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from datacube import Datacube

from sdgcube.datacube.archive import dataset_dir
from sdgcube.datacube.cog import atomic_path
from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.chips import CHIP_PIXEL, make_chip
from sdgcube.datacube.demo.landscape import GRIDS, Landscape, make_landscape
from sdgcube.datacube.demo.noise import dataset_rng
from sdgcube.datacube.demo.render import DemoJob, RenderTask, render
from sdgcube.datacube.demo.truth import (
    Contents,
    admin_units_geojson,
    events_geojson,
    pixel_counts,
    truth_document,
)
from sdgcube.datacube.indexing import index_item, write_archive_catalog
from sdgcube.datacube.vectors import vector_store_at
from sdgcube.errors import InvalidRequest

__all__ = [
    "CHIPS_PER_SIZE", "CONTENTS", "SIZES", "SIZE_HELP", "DemoJob", "default_workers", "demo_jobs",
    "generate_demo",
]  # fmt: skip

COUNTRY_PRODUCTS = ("sr_annual", "land_cover", "soil_organic_carbon")
SIZES = tuple(GRIDS)
CHIPS_PER_SIZE = {"small": 4, "medium": 16, "large": 64, "country": 0}
CONTENTS = {size: Contents() for size in ("small", "medium", "large")} | {
    "country": Contents(years=tuple(range(2000, 2016)), products=COUNTRY_PRODUCTS)
}
"""``country`` holds what sdg-15-3-1 reads with its default periods: annual reflectance and land
cover 2000-2015 (the baseline, with the 2012 deforestation and the lake turning to wetland from
2010), soil carbon 2000 and 2020."""
SIZE_HELP = {
    "small": "200² pixels, 2000-2024, every product (~10 s)",
    "medium": "800² pixels, 2000-2024, every product",
    "large": "2048² pixels, 2000-2024, every product",
    "country": "8192² pixels, 2000-2015: reflectance, land cover, soil carbon (sdg-15-3-1)",
}
_NAMESPACE = uuid.UUID("3d5c5a8e-4a0b-4b8e-9a43-5b8d0e7f1c22")
Progress = Callable[[str], None]


def _chip_jobs(seed: int, count: int, truth: list[dict[str, Any]]) -> Iterator[DemoJob]:
    when = datetime(2020, 6, 1, tzinfo=UTC)
    for index in range(count):
        chip = make_chip(dataset_rng(seed, f"chip/{index}"))
        pixels = chip.building_pixels
        truth.append({"chip": index, "buildings": chip.buildings, "building_pixels": pixels,
                      "building_area_m2": pixels * CHIP_PIXEL**2,
                      "footprint_area_m2": round(chip.footprint_area_m2, 2)})  # fmt: skip
        key = f"{index}of{count}"  # a chip's place depends on how many there are
        yield DemoJob("hires_rgb", when, f"hires_rgb/{key}", "rgb", index=index)
        yield DemoJob("building_labels", when, f"building_labels/{key}", "labels", index=index)


def _july(year: int) -> datetime:
    return datetime(year, 7, 1, tzinfo=UTC)


def demo_jobs(
    contents: Contents, chips: int, seed: int, chip_truth: list[dict[str, Any]]
) -> Iterator[DemoJob]:
    """Every dataset of the archive, in time order within each product."""
    for year in contents.years:
        yield DemoJob("sr_annual", _july(year), f"sr/{year}", "sr", year)
        yield DemoJob("land_cover", _july(year), f"lc/{year}", "land_cover", year)
        if contents.has("surface_water"):
            for quarter, (month, day) in enumerate(ts.QUARTER_DATES):
                yield DemoJob("surface_water", datetime(year, month, day, tzinfo=UTC),
                              f"water/{year}/{quarter}", "water", year, quarter)  # fmt: skip
    if contents.has("built_up"):
        for year in ts.BUILT_UP_YEARS:
            yield DemoJob("built_up", _july(year), f"built/{year}", "built_up", year)
    if contents.has("population"):
        for year in ts.POPULATION_YEARS:
            yield DemoJob("population", _july(year), f"pop/{year}", "population", year)
    for year in ts.SOC_YEARS:
        yield DemoJob("soil_organic_carbon", _july(year), f"soc/{year}", "soc", year)
    yield from _chip_jobs(seed, chips, chip_truth)


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


def default_workers() -> int:
    """One process per core, at most 8 (a ``country`` worker holds about 1 GB)."""
    return max(1, min(os.cpu_count() or 1, 8))


def _rendered(tasks: list[RenderTask], workers: int) -> Iterator[tuple[RenderTask, Path]]:
    """Each task's written ``item.json``, as the tasks finish (in this process if one worker)."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, render(task)
        return
    # spawn: a forked child would inherit the index's database connections.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        futures = {pool.submit(render, task): task for task in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _truth(
    size: str, seed: int, chip_truth: list[dict[str, Any]]
) -> tuple[dict[str, Any], Landscape]:
    """The truth document, summed window by window on a windowed grid, and one landscape for the
    event shapes."""
    grid, contents = GRIDS[size], CONTENTS[size]
    if not grid.windowed:
        ls = make_landscape(grid, np.random.default_rng(seed))
        return truth_document(ls, size=size, seed=seed, chips=chip_truth, contents=contents), ls
    totals: dict[str, float] = {}
    for window in grid.windows():
        ls = make_landscape(grid, np.random.default_rng(seed), window)
        for name, count in pixel_counts(ls, contents.years).items():
            totals[name] = totals.get(name, 0) + count
    document = truth_document(totals, size=size, seed=seed, chips=chip_truth, contents=contents)
    return document, ls


def _check(size: str, chips: int | None, workers: int | None) -> None:
    if size not in GRIDS:
        raise InvalidRequest(f"demo size {size!r} is not one of {', '.join(SIZES)}")
    if chips is not None and not 1 <= chips <= 1024:
        raise InvalidRequest(f"the number of chips must be 1 to 1024, not {chips}")
    if workers is not None and workers < 1:
        raise InvalidRequest(f"the number of workers must be at least 1, not {workers}")


def _dataset_ids(size: str, seed: int, jobs: list[DemoJob]) -> dict[str, str]:
    # large was made whole before it was one window: new ids, so an old archive is replaced.
    version = "/windowed" if size == "large" else ""
    return {
        job.key: str(uuid.uuid5(_NAMESPACE, f"{size}{version}/{seed}/{job.key}")) for job in jobs
    }


def _write_documents(dc: Datacube, demo_dir: Path, truth: dict[str, Any], ls: Landscape,
                     manifest: dict[str, Any]) -> None:  # fmt: skip
    _write_json(demo_dir / "truth.json", truth)
    _write_json(demo_dir / "events.geojson", events_geojson(ls))
    _write_json(demo_dir / "admin_units.geojson", admin_units_geojson(ls))
    _write_json(demo_dir / "manifest.json", manifest)
    # The districts become the ``admin_units`` collection, in the same database as the index.
    with vector_store_at(dc.index.environment.db_url) as store:
        store.load_file(demo_dir / "admin_units.geojson", name="admin_units", id_field="unit_id",
                        title="Demo districts")  # fmt: skip


def generate_demo(
    dc: Datacube,
    archive_dir: Path,
    demo_dir: Path,
    *,
    size: str = "small",
    seed: int = 42,
    chips: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write, index and catalogue the demo archive; return its truth document.

    ``chips`` overrides the size's number of 0.5 m chips (training a model wants more). Datasets
    are written by ``workers`` processes (default: one per core) and indexed here as they finish.
    Deterministic per (size, seed, chips), whatever the number of workers. Datasets already indexed
    are kept, so a re-run is quick."""
    _check(size, chips, workers)
    chip_count = CHIPS_PER_SIZE[size] if chips is None else chips
    chip_truth: list[dict[str, Any]] = []
    jobs = list(demo_jobs(CONTENTS[size], chip_count, seed, chip_truth))
    if on_total:
        on_total(len(jobs))
    ids = _dataset_ids(size, seed, jobs)
    _remove_previous(dc, demo_dir, set(ids.values()))
    items: dict[str, Path] = {}
    tasks = []
    for job in jobs:
        item_path = dataset_dir(archive_dir, job.product, job.when, ids[job.key]) / "item.json"
        if dc.index.datasets.has(ids[job.key]) and item_path.exists():
            items[job.key] = item_path
            if progress:
                progress(job.product)
            continue
        tasks.append(RenderTask(job, size, seed, chip_count, archive_dir, ids[job.key],
                                {"sdgcube:demo": f"{size}/{seed}"}))  # fmt: skip
    for task, item_path in _rendered(tasks, workers or default_workers()):
        index_item(dc, pystac.Item.from_file(str(item_path)), task.job.product)
        items[task.job.key] = item_path
        if progress:
            progress(task.job.product)
    write_archive_catalog(archive_dir)
    truth, ls = _truth(size, seed, chip_truth)
    datasets = [{"id": ids[j.key], "product": j.product, "item": str(items[j.key])} for j in jobs]
    _write_documents(dc, demo_dir, truth, ls, {"size": size, "seed": seed, "datasets": datasets})
    return truth
