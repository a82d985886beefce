"""Removing a product or datasets: gone from the index, the archive and the STAC catalog — or,
when anything fails, nothing changed."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.ingest import ingest_file
from sdgcube.datacube.removal import remove_datasets, remove_product
from sdgcube.errors import UnknownDataset, UnknownProduct


@pytest.fixture
def two_products(empty_cube: Cube, make_raster, request) -> tuple[Cube, str, str, list]:
    suffix = request.node.name.split("[")[0][-12:].replace("_", "")
    keep, drop = f"keep{suffix}", f"drop{suffix}"
    results = []
    for i, (product, year) in enumerate([(keep, 2020), (drop, 2020), (drop, 2021)]):
        path = make_raster(np.full((8, 8), i, dtype="uint8"), name=f"r{i}.tif")
        results.append(ingest_file(empty_cube.dc, empty_cube.settings.archive_dir, path,
                                   product=product, when=datetime(year, 1, 1)))  # fmt: skip
    return empty_cube, keep, drop, results


def _catalog_children(cube: Cube) -> set[str]:
    catalog = json.loads((cube.settings.archive_dir / "catalog.json").read_text())
    return {link["href"].split("/")[-2] for link in catalog["links"] if link["rel"] == "child"}


def test_remove_product_deletes_index_entries_folders_and_catalog_entry(two_products) -> None:
    cube, keep, drop, results = two_products
    removed = remove_product(cube.dc, cube.settings.archive_dir, drop)
    assert removed.datasets == 2
    assert cube.dc.index.products.get_by_name(drop) is None
    assert not (cube.settings.archive_dir / drop).exists()
    assert cube.dc.index.datasets.get(results[1].dataset_id) is None
    assert (cube.load(keep, chunks=None)[keep].values == 0).all()  # the other product is intact
    assert drop not in _catalog_children(cube) and keep in _catalog_children(cube)


def test_remove_datasets_keeps_the_product(two_products) -> None:
    cube, _, drop, results = two_products
    removed = remove_datasets(cube.dc, cube.settings.archive_dir, [results[1].dataset_id])
    assert removed.datasets == 1 and not results[1].item_path.exists()
    assert [str(ds.id) for ds in cube.datasets(drop)] == [results[2].dataset_id]
    assert results[2].item_path.exists()


def test_a_failing_removal_changes_nothing(two_products, monkeypatch) -> None:
    cube, _, drop, results = two_products

    def broken_delete(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(type(cube.dc.index.products), "delete", broken_delete)
    with pytest.raises(RuntimeError, match="connection lost"):
        remove_product(cube.dc, cube.settings.archive_dir, drop)
    assert cube.dc.index.products.get_by_name(drop) is not None
    assert results[1].item_path.exists() and results[2].item_path.exists()


def test_unknown_names_are_refused(empty_cube: Cube) -> None:
    with pytest.raises(UnknownProduct, match="unknown product 'nope'"):
        remove_product(empty_cube.dc, empty_cube.settings.archive_dir, "nope")
    for bad in ["6f1c2a7e-0000-4000-8000-000000000001", "not-a-uuid"]:
        with pytest.raises(UnknownDataset, match=f"unknown dataset '{bad}'"):
            remove_datasets(empty_cube.dc, empty_cube.settings.archive_dir, [bad])
