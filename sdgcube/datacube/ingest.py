"""Bringing any GDAL-readable raster into the cube: validate, convert to COG, describe in STAC, index.

Validation happens before anything is written; the dataset folder appears atomically; the product
(if new) and the dataset enter the index in one transaction. Ingesting the same file twice with the
same time yields the same dataset id, so the second run changes nothing.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
import sqlalchemy as sa
from datacube import Datacube
from datacube.model import Product
from datacube.utils.documents import InvalidDocException
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from sdgcube.datacube.archive import (
    AssetWriter,
    remove_abandoned_staging,
    remove_dataset,
    write_dataset,
)
from sdgcube.datacube.cog import sha256_multihash, translate_to_cog
from sdgcube.datacube.eo3 import default_nodata, slug
from sdgcube.datacube.extent import off_earth
from sdgcube.datacube.indexing import index_item, index_write_transaction
from sdgcube.datacube.stac_items import BandMeta, RasterAsset
from sdgcube.errors import IngestError

__all__ = [
    "DatasetLineage",
    "IngestRequest",
    "IngestResult",
    "RasterInfo",
    "check_against_product",
    "ingest_file",
    "ingest_raster",
    "ingest_rasters",
    "inspect_raster",
    "plan_ingest",
]  # fmt: skip

_NAMESPACE = uuid.UUID("0c7a9a55-3f0e-4f4b-8a1b-6d5f1f3c2e10")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class RasterInfo:
    """What validation learnt about a source raster."""

    path: Path
    crs: str
    shape: tuple[int, int]
    band_names: tuple[str, ...]
    dtype: str
    nodata: float | None
    units: tuple[str | None, ...]
    tagged_time: datetime | None
    checksum: str


@dataclass(frozen=True)
class IngestResult:
    dataset_id: str
    product: str
    item_path: Path
    created_product: bool
    already_indexed: bool


@dataclass(frozen=True)
class DatasetLineage:
    """Where a derived dataset comes from: kept in its STAC item so the work can be re-run."""

    description: str | None = None
    """Description of the product, used only when the ingest creates it."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Extra STAC item properties (input dataset ids, parameters, software version…)."""


def _tagged_time(tags: dict[str, str]) -> datetime | None:
    value = tags.get("TIFFTAG_DATETIME")
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _check_georeferencing(path: Path, src: Any) -> None:
    """Refuse georeferencing no renderer can use: it would stop publication of every product."""
    x_res, y_res = src.transform.a, src.transform.e
    if not (np.isfinite(x_res) and np.isfinite(y_res)) or x_res == 0 or y_res == 0:
        raise IngestError(f"{path} has an unusable pixel size {x_res}, {y_res}")
    bounds = tuple(src.bounds)
    if not all(np.isfinite(bounds)):
        raise IngestError(f"{path} has non-finite bounds {bounds}")
    problem = off_earth(bounds) if src.crs.is_geographic else None
    if problem is not None:
        raise IngestError(f"{path}: {problem} for geographic {src.crs.to_string()}")


def inspect_raster(path: Path) -> RasterInfo:
    """Open, check and fully decode a raster; raise IngestError saying what is wrong with it."""
    try:
        with warnings.catch_warnings():
            # A file without georeferencing gets our own one-line error below, not rasterio's warning.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            if src.subdatasets and src.count == 0:
                raise IngestError(
                    f"{path} holds {len(src.subdatasets)} subdatasets; ingest one, e.g. {src.subdatasets[0]}"
                )
            if src.crs is None:
                raise IngestError(f"{path} has no coordinate reference system")
            if len(set(src.dtypes)) > 1:
                raise IngestError(f"{path} mixes band data types {sorted(set(src.dtypes))}")
            _check_georeferencing(path, src)
            for _, window in src.block_windows(1):
                src.read(window=window)
            names = [slug(d) if d else "" for d in src.descriptions]
            return RasterInfo(
                path=path,
                crs=src.crs.to_string(),
                shape=(src.height, src.width),
                band_names=tuple(names),
                dtype=src.dtypes[0],
                nodata=src.nodata,
                units=tuple(u or None for u in src.units),
                tagged_time=_tagged_time(src.tags()),
                checksum=sha256_multihash(path),
            )
    except RasterioError as exc:
        raise IngestError(f"{path} is not a readable raster: {exc}") from None


def _measurement_names(info: RasterInfo, product: str) -> list[str]:
    if len(info.band_names) == 1:
        return [info.band_names[0] or product]
    names = [name or f"band_{i}" for i, name in enumerate(info.band_names, start=1)]
    return (
        names if len(set(names)) == len(names) else [f"band_{i}" for i in range(1, len(names) + 1)]
    )


def product_doc_for(
    info: RasterInfo, product: str, description: str | None = None
) -> dict[str, Any]:
    """A new eo3 product shaped like the file: its bands, dtype and nodata."""
    nodata = info.nodata if info.nodata is not None else default_nodata(info.dtype)
    measurements = [
        {"name": name, "dtype": info.dtype, "units": unit or "1", "nodata": nodata}
        for name, unit in zip(_measurement_names(info, product), info.units, strict=True)
    ]
    return {
        "name": product,
        "description": description or f"Ingested by sdgcube from {info.path.name}",
        "metadata_type": "eo3",
        "metadata": {"product": {"name": product}},
        "measurements": measurements,
    }


def check_against_product(info: RasterInfo, product_doc: dict[str, Any]) -> list[str]:
    """The product's measurement names, in band order, if the file fits the product."""
    measurements = product_doc["measurements"]
    if len(measurements) != len(info.band_names):
        raise IngestError(
            f"{info.path} has {len(info.band_names)} band(s); product {product_doc['name']!r} "
            f"has {len(measurements)} measurement(s)"
        )
    wrong = [m["name"] for m in measurements if np.dtype(m["dtype"]) != np.dtype(info.dtype)]
    if wrong:
        raise IngestError(
            f"{info.path} is {info.dtype}; product {product_doc['name']!r} stores {wrong} as "
            f"{measurements[0]['dtype']}"
        )
    return [m["name"] for m in measurements]


def _write_bands(
    info: RasterInfo, names: Sequence[str], product_doc: dict[str, Any]
) -> AssetWriter:
    by_name = {m["name"]: m for m in product_doc["measurements"]}

    def write(folder: Path) -> list[RasterAsset]:
        assets = []
        with rasterio.open(info.path) as src:
            for index, name in enumerate(names, start=1):
                target = folder / f"{name}.tif"
                # Product documents keep a NaN nodata as the string "NaN".
                declared = by_name[name].get("nodata", info.nodata)
                nodata = float(declared) if declared is not None else None
                categorical = bool(by_name[name].get("flags_definition"))
                translate_to_cog(
                    src, target, indexes=[index], nodata=nodata, categorical=categorical
                )
                band = BandMeta(
                    name=name, dtype=info.dtype, nodata=nodata, unit=by_name[name].get("units")
                )
                assets.append(
                    RasterAsset(name, target, (band,), info.crs, info.shape, src.transform)
                )
        return assets

    return write


def plan_ingest(
    dc: Datacube, paths: Sequence[Path], product: str, when: datetime | None = None
) -> list[RasterInfo]:
    """Validate every file against the product (or the product the first file would create)."""
    if not _NAME.match(product):
        raise IngestError(f"product name {product!r} must be lower-case letters, digits and _")
    if product == "models":  # <archive>/models/ holds the model registry (sdgcube.models.registry)
        raise IngestError("product name 'models' is reserved for the archive's models folder")
    infos = [inspect_raster(path) for path in paths]
    existing = dc.index.products.get_by_name(product)
    doc = dict(existing.definition) if existing else product_doc_for(infos[0], product)
    if existing is None:
        try:
            dc.index.products.from_doc(doc)
        except Exception as exc:  # noqa: BLE001 - ODC raises many kinds for an unusable document
            raise IngestError(f"{infos[0].path} cannot define product {product!r}: {exc}") from None
    for info in infos:
        check_against_product(info, doc)
        if when is None and info.tagged_time is None:
            raise IngestError(f"{info.path} carries no acquisition time: pass --datetime")
    return infos


@dataclass(frozen=True)
class IngestRequest:
    """One validated raster to ingest as a dataset of ``product``."""

    info: RasterInfo
    product: str
    when: datetime | None = None
    """Acquisition time; None: the time the file is tagged with."""
    lineage: DatasetLineage = field(default_factory=DatasetLineage)


@dataclass(frozen=True)
class _Pending:
    request: IngestRequest
    when: datetime
    product_doc: dict[str, Any]
    new_product: bool
    names: list[str]
    dataset_id: str


def _pending(dc: Datacube, request: IngestRequest, new_docs: dict[str, dict[str, Any]]) -> _Pending:
    info, product = request.info, request.product
    when = request.when or info.tagged_time
    if when is None:
        raise IngestError(f"{info.path} carries no acquisition time: pass --datetime")
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    existing = dc.index.products.get_by_name(product)
    doc = dict(existing.definition) if existing else new_docs.get(product)
    if doc is None:
        doc = new_docs[product] = product_doc_for(info, product, request.lineage.description)
    dataset_id = str(uuid.uuid5(_NAMESPACE, f"{product}|{info.checksum}|{when.isoformat()}"))
    return _Pending(
        request, when, doc, existing is None, check_against_product(info, doc), dataset_id
    )


def _write(archive_dir: Path, pending: _Pending) -> Path:
    info = pending.request.info
    properties = {"sdgcube:source": str(info.path.resolve()), "sdgcube:source_checksum": info.checksum,
                  **pending.request.lineage.properties}  # fmt: skip
    return write_dataset(archive_dir, product=pending.request.product, when=pending.when,
                         dataset_id=pending.dataset_id, properties=properties,
                         write_assets=_write_bands(info, pending.names, pending.product_doc))  # fmt: skip


def _add_new_product(dc: Datacube, doc: dict[str, Any]) -> None:
    """Add a product made from a file. ``products.add`` validates the definition; ``from_doc``
    would validate it a second time (a JSON-schema check costs ~0.15 s, a job adds several)."""
    metadata_type = dc.index.metadata_types.get_by_name(doc["metadata_type"])
    if metadata_type is None:
        raise IngestError(
            f"product {doc['name']!r}: unknown metadata type {doc['metadata_type']!r}"
        )
    try:
        dc.index.products.add(Product(metadata_type, doc), allow_table_lock=True)
    except InvalidDocException as exc:
        raise IngestError(f"invalid product definition {doc['name']!r}: {exc}") from exc


_INDEX_ATTEMPTS = 3
_RETRYABLE = {"40P01", "40001"}
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply run again."""


def _pgcode(exc: sa.exc.OperationalError) -> str | None:
    return getattr(exc.orig, "pgcode", None)


def ingest_rasters(
    dc: Datacube, archive_dir: Path, requests: Sequence[IngestRequest], *, workers: int = 1
) -> list[IngestResult]:
    """Ingest validated rasters: COGs written by ``workers`` threads, then every new product and
    dataset indexed in one transaction (all or none: a failure removes the folders written)."""
    remove_abandoned_staging(archive_dir)
    new_docs: dict[str, dict[str, Any]] = {}
    pending = [_pending(dc, request, new_docs) for request in requests]
    known = {
        p.dataset_id: _indexed_item(dc, p.dataset_id)
        for p in pending
        if dc.index.datasets.has(p.dataset_id)
    }
    todo = [p for p in pending if p.dataset_id not in known]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        written = dict(
            zip(
                (p.dataset_id for p in todo),
                pool.map(partial(_write, archive_dir), todo),
                strict=True,
            )
        )
    try:
        for attempt in range(1, _INDEX_ATTEMPTS + 1):
            try:
                with index_write_transaction(dc):
                    for doc in new_docs.values():
                        _add_new_product(dc, doc)
                    for p in todo:
                        item = pystac.Item.from_file(str(written[p.dataset_id]))
                        index_item(dc, item, p.request.product)
                break
            except sa.exc.OperationalError as exc:
                # The lock orders our own writers; a writer outside it can still collide.
                if _pgcode(exc) not in _RETRYABLE or attempt == _INDEX_ATTEMPTS:
                    raise
    except BaseException:
        for path in written.values():
            remove_dataset(path)
        raise
    return [IngestResult(p.dataset_id, p.request.product, written[p.dataset_id], p.new_product, False)
            if p.dataset_id in written else IngestResult(p.dataset_id, p.request.product, known[p.dataset_id], False, True)
            for p in pending]  # fmt: skip


def _indexed_item(dc: Datacube, dataset_id: str) -> Path:
    """The item file of a dataset already in the index."""
    dataset = dc.index.datasets.get(dataset_id)
    uri = dataset.uri if dataset is not None else None
    if uri is None:
        raise IngestError(f"dataset {dataset_id} is indexed without a location")
    return Path(uri.removeprefix("file://"))


def ingest_raster(
    dc: Datacube,
    archive_dir: Path,
    info: RasterInfo,
    *,
    product: str,
    when: datetime | None = None,
    lineage: DatasetLineage | None = None,
) -> IngestResult:
    """Ingest one validated raster as a dataset of ``product`` (created from the file if new)."""
    request = IngestRequest(info, product, when, lineage or DatasetLineage())
    (result,) = ingest_rasters(dc, archive_dir, [request])
    return result


def ingest_file(
    dc: Datacube,
    archive_dir: Path,
    path: Path,
    *,
    product: str,
    when: datetime | None = None,
    lineage: DatasetLineage | None = None,
) -> IngestResult:
    """Validate and ingest one raster file."""
    (info,) = plan_ingest(dc, [path], product, when)
    return ingest_raster(dc, archive_dir, info, product=product, when=when, lineage=lineage)
