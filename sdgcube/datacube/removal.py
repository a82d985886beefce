"""Removing products and datasets from the index and the archive, all or nothing.

The archive folders are first moved aside into the staging folder, then the index rows are deleted
in one transaction; a failure moves the folders back, success deletes them. Files outside the
archive (datasets indexed in place from a user's STAC catalog) are the user's: only the index
entries of those go.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from datacube import Datacube

from sdgcube.datacube.archive import staging_dir
from sdgcube.datacube.indexing import index_write_transaction, write_archive_catalog
from sdgcube.errors import InvalidRequest, UnknownDataset, UnknownProduct

__all__ = ["Removed", "remove_datasets", "remove_product"]


@dataclass(frozen=True)
class Removed:
    datasets: int
    """Index entries deleted."""
    folders: tuple[Path, ...]
    """Archive folders deleted."""


def remove_product(dc: Datacube, archive_dir: Path, name: str) -> Removed:
    """Delete product ``name``, every dataset of it, and its archive folder."""
    product = dc.index.products.get_by_name(name)
    if product is None:
        raise UnknownProduct(name)
    count = len(list(dc.index.datasets.search_returning(("id",), archived=None, product=name)))
    folders = [archive_dir / name] if (archive_dir / name).is_dir() else []
    with (
        _moved_aside(folders, archive_dir),
        _refusing_derived(f"product {name!r}"),
        index_write_transaction(dc),
    ):
        if not dc.index.products.delete([product], allow_delete_active=True):
            raise InvalidRequest(f"product {name!r} could not be deleted")
    # ODC 1.9 memoises products by name and id and forgets to clear that on delete.
    dc.index.products.get_by_name_unsafe.cache_clear()  # type: ignore[attr-defined]
    dc.index.products.get_unsafe.cache_clear()  # type: ignore[attr-defined]
    write_archive_catalog(archive_dir)
    return Removed(count, tuple(folders))


def remove_datasets(dc: Datacube, archive_dir: Path, ids: Sequence[str]) -> Removed:
    """Delete the datasets ``ids`` and their archive folders; their products stay."""
    datasets = []
    for dataset_id in ids:
        try:
            dataset = dc.index.datasets.get(dataset_id)
        except ValueError:  # not a UUID
            dataset = None
        if dataset is None:
            raise UnknownDataset(dataset_id)
        datasets.append(dataset)
    folders = [f for f in (_archive_folder(ds.uri, archive_dir) for ds in datasets) if f]
    with (
        _moved_aside(folders, archive_dir),
        _refusing_derived(f"dataset(s) {', '.join(ids)}"),
        index_write_transaction(dc),
    ):
        dc.index.datasets.purge([ds.id for ds in datasets], allow_delete_active=True)
    write_archive_catalog(archive_dir, products={ds.product.name for ds in datasets})
    return Removed(len(datasets), tuple(folders))


def _archive_folder(uri: str | None, archive_dir: Path) -> Path | None:
    if uri is None or not uri.startswith("file://"):
        return None
    folder = Path(unquote(urlparse(uri).path)).parent
    return folder if folder.is_relative_to(archive_dir) and folder.is_dir() else None


@contextmanager
def _moved_aside(folders: Sequence[Path], archive_dir: Path) -> Iterator[None]:
    trash = staging_dir(archive_dir) / f"removing-{uuid.uuid4().hex}"
    moved: list[tuple[Path, Path]] = []
    try:
        for i, folder in enumerate(folders):
            trash.mkdir(parents=True, exist_ok=True)
            aside = trash / str(i)
            folder.rename(aside)
            moved.append((folder, aside))
        yield
    except BaseException:
        for folder, aside in reversed(moved):
            aside.rename(folder)
        shutil.rmtree(trash, ignore_errors=True)
        raise
    shutil.rmtree(trash, ignore_errors=True)


@contextmanager
def _refusing_derived(what: str) -> Iterator[None]:
    try:
        yield
    except sa.exc.IntegrityError:
        raise InvalidRequest(
            f"{what}: other datasets are derived from it (ODC lineage); remove those first"
        ) from None
