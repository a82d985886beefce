"""Indexing STAC items into the cube, and keeping the archive's STAC catalog in step with it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pystac
import sqlalchemy as sa
from datacube import Datacube
from datacube.index.hl import Doc2Dataset
from datacube.model import Product

from sdgcube.datacube.eo3 import (
    as_uri,
    dataset_uuid,
    item_bands,
    item_to_eo3,
    product_doc_from_item,
    product_name,
)
from sdgcube.datacube.index import add_product
from sdgcube.datacube.stac_items import ITEM_FILE
from sdgcube.errors import IngestError

__all__ = ["index_item", "index_items", "read_items", "write_archive_catalog"]

Progress = Callable[[int], None]


def _product_measurements(definition: Product, item: pystac.Item) -> dict[str, str]:
    """Map the product's measurements to the item's band names (by name, then by alias)."""
    product = definition.name
    names = {band.name for band in item_bands(item)}
    mapping = {}
    for name, meas in definition.measurements.items():
        candidates = [name, *meas.get("aliases", [])]
        found = next((c for c in candidates if c in names), None)
        if found is None:
            raise IngestError(
                f"item {item.id!r} has no band for measurement {name!r} of product {product!r} "
                f"(item bands: {sorted(names)})"
            )
        mapping[name] = found
    return mapping


INDEX_WRITE_LOCK = 0x5D6C_0BE0
"""Key of the PostgreSQL advisory lock held by every transaction that adds products or datasets."""


@contextmanager
def index_write_transaction(dc: Datacube) -> Iterator[None]:
    """One index transaction, taken in turn with every other writer's.

    Adding a product builds its indexes under a table lock on the dataset table (``allow_table_lock``)
    while other transactions insert datasets into it: run side by side, PostgreSQL aborts some of
    them as deadlocked. The transaction-scoped advisory lock makes them wait for each other instead.
    """
    # Both ODC drivers hand the thread's transaction connection out only through this private API.
    with dc.index.transaction(), dc.index._active_connection() as api:  # type: ignore[attr-defined]
        api._connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": INDEX_WRITE_LOCK}
        )
        yield


def index_item(dc: Datacube, item: pystac.Item, product: str | None = None) -> bool:
    """Index one item; create its product from it if the product is new. True if newly added."""
    if not (product or item.collection_id):
        raise IngestError(f"item {item.id!r} names no collection: pass a product name")
    # ODC product names are word characters only; STAC collection ids often hold dashes.
    name = product or product_name(item.collection_id or "")
    definition = dc.index.products.get_by_name(name) or add_product(
        dc.index, product_doc_from_item(item, name)
    )
    if dc.index.datasets.has(dataset_uuid(item)):
        return False
    doc = item_to_eo3(item, name, _product_measurements(definition, item))
    resolver = Doc2Dataset(dc.index, products=[name], verify_lineage=False, skip_lineage=True)
    dataset, error = resolver(doc, as_uri(item.get_self_href() or ""))
    if error or dataset is None:
        raise IngestError(f"item {item.id!r} cannot be indexed as {name!r}: {error}")
    dc.index.datasets.add(dataset, with_lineage=False)
    return True


def index_items(
    dc: Datacube,
    items: Iterable[pystac.Item],
    product: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Index items, returning how many were new."""
    added = 0
    for item in items:
        added += index_item(dc, item, product)
        if progress:
            progress(1)
    return added


def read_items(source: str | Path) -> Iterator[pystac.Item]:
    """Items from a STAC catalog, collection, item collection, single item, or folder of items."""
    path = Path(str(source).removeprefix("file://"))
    if path.is_dir():
        root = path / "catalog.json"
        if root.exists():
            yield from read_items(root)
            return
        for file in sorted(path.rglob("*.json")):
            yield from _items_in(file)
        return
    yield from _items_in(
        source if "://" in str(source) and not str(source).startswith("file://") else path
    )


def _items_in(source: str | Path) -> Iterator[pystac.Item]:
    try:
        stac_object = pystac.read_file(str(source))
    except Exception as exc:  # noqa: BLE001 - pystac fails on a bad file in many ways: all mean this
        raise IngestError(f"{source} is not a readable STAC document: {exc}") from None
    if isinstance(stac_object, pystac.Item):
        yield stac_object
    elif isinstance(stac_object, pystac.Catalog):
        yield from stac_object.get_items(recursive=True)
    elif isinstance(stac_object, pystac.ItemCollection):
        yield from stac_object.items


def _add_collection(catalog: pystac.Catalog, archive_dir: Path, product: str) -> None:
    files = sorted((archive_dir / product).glob(f"**/{ITEM_FILE}"))
    if not files:
        return
    items = [pystac.Item.from_file(str(item_file)) for item_file in files]
    collection = pystac.Collection(
        id=product,
        description=f"Datasets of product {product}",
        extent=pystac.Extent.from_items(items),
        license="CC-BY-4.0",
    )
    collection.set_self_href(str(archive_dir / product / "collection.json"))
    catalog.add_child(collection)
    for item, item_file in zip(items, files, strict=True):
        collection.add_item(item)
        item.set_self_href(str(item_file))


def write_archive_catalog(
    archive_dir: Path, products: Collection[str] | None = None
) -> pystac.Catalog:
    """Rebuild ``catalog.json`` and the ``collection.json`` of ``products`` (all when None) from
    their item files; the other collections stay as they are, linked as children.

    Items stay where they are; the catalog is derived data, so rewriting it is always safe. An
    ingest rewrites only its product: reading and writing every item costs ~0.5 s per 200."""
    catalog = pystac.Catalog(id="sdgcube-archive", description="Everything in this sdgcube archive")
    catalog.set_self_href(str(archive_dir / "catalog.json"))
    for folder in sorted(path for path in archive_dir.iterdir() if path.is_dir()):
        existing = folder / "collection.json"
        if products is None or folder.name in products or not existing.exists():
            _add_collection(catalog, archive_dir, folder.name)
        else:
            catalog.add_link(pystac.Link.child(str(existing)))  # type: ignore[arg-type]  # an href is what pystac stores
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return catalog
