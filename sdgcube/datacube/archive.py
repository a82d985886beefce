"""The on-disk archive: one folder per dataset, ``<product>/<year>/<dataset id>/``, holding its COGs
and ``item.json``. A folder is built in a staging folder beside the archive and renamed into place
when complete, so neither a reader nor the STAC browser ever sees half a dataset; what a killed
writer left in staging is removed by the next writer."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sdgcube.datacube.database import process_alive
from sdgcube.datacube.stac_items import ITEM_FILE, RasterAsset, build_item

__all__ = [
    "AssetWriter",
    "dataset_dir",
    "remove_abandoned_staging",
    "remove_dataset",
    "staging_dir",
    "write_dataset",
]

AssetWriter = Callable[[Path], Sequence[RasterAsset]]


def dataset_dir(archive_dir: Path, product: str, when: datetime, dataset_id: str) -> Path:
    return archive_dir / product / f"{when.year:04d}" / dataset_id


def write_dataset(
    archive_dir: Path,
    *,
    product: str,
    when: datetime,
    dataset_id: str,
    write_assets: AssetWriter,
    properties: dict[str, Any] | None = None,
) -> Path:
    """Write a dataset folder atomically and return the path of its ``item.json``.

    ``write_assets(folder)`` writes the COGs into ``folder`` and describes them. An existing folder
    for the same dataset is replaced."""
    final = dataset_dir(archive_dir, product, when, dataset_id)
    tmp = staging_dir(archive_dir) / f"{socket.gethostname()}.{os.getpid()}.{dataset_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        assets = write_assets(tmp)
        item = build_item(
            dataset_id,
            collection=product,
            when=when,
            item_dir=tmp,
            assets=assets,
            properties=properties,
        )
        # Relative asset hrefs survive the rename; pystac would otherwise pin the temporary folder.
        (tmp / ITEM_FILE).write_text(
            json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=1)
        )
        shutil.rmtree(final, ignore_errors=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final / ITEM_FILE


def remove_dataset(item_path: Path) -> None:
    shutil.rmtree(item_path.parent, ignore_errors=True)


def staging_dir(archive_dir: Path) -> Path:
    """Where dataset folders are built: beside the archive (same file system, so the final rename
    is atomic), outside what the STAC browser serves."""
    return archive_dir.with_name(f"{archive_dir.name}.staging")


def remove_abandoned_staging(archive_dir: Path) -> list[Path]:
    """Remove the folders of writers on this host that died before renaming them into place, and
    the hidden ``.<id>.tmp`` folders that earlier versions built inside the archive. Returns them."""
    staged = staging_dir(archive_dir)
    abandoned = [
        entry for entry in (staged.iterdir() if staged.is_dir() else ()) if _abandoned(entry.name)
    ]
    abandoned += archive_dir.glob("*/*/.*.tmp") if archive_dir.is_dir() else []
    for path in abandoned:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # the year and product folders, if nothing else is left
            path.parent.rmdir()
            path.parent.parent.rmdir()
    return abandoned


def _abandoned(name: str) -> bool:
    """Whether a staging folder ``<host>.<pid>.<dataset id>`` belongs to a dead writer on this host
    (a writer elsewhere, sharing the archive, is alive as far as this host can tell)."""
    writer, _, _dataset_id = name.rpartition(".")
    host, _, pid = writer.rpartition(".")
    return host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid))
