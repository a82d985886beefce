"""The on-disk archive: one folder per dataset, ``<product>/<year>/<dataset id>/``, holding its COGs
and ``item.json``. A folder is built under a temporary name and renamed into place when complete, so
a reader never sees half a dataset."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sdgcube.datacube.stac_items import ITEM_FILE, RasterAsset, build_item

__all__ = ["AssetWriter", "dataset_dir", "remove_dataset", "write_dataset"]

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
    tmp = final.with_name(f".{dataset_id}.tmp")
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
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final / ITEM_FILE


def remove_dataset(item_path: Path) -> None:
    shutil.rmtree(item_path.parent, ignore_errors=True)
