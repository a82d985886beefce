"""Indexing STAC items into the cube, and keeping the archive's STAC catalog in step with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pystac
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


def write_archive_catalog(archive_dir: Path) -> pystac.Catalog:
    """Rebuild ``catalog.json`` and one ``collection.json`` per product from the item files.

    Items stay where they are; the catalog is derived data, so rewriting it is always safe."""
    by_product: dict[str, list[pystac.Item]] = {}
    hrefs = {}
    for item_file in sorted(archive_dir.glob(f"*/**/{ITEM_FILE}")):
        item = pystac.Item.from_file(str(item_file))
        hrefs[id(item)] = str(item_file)
        by_product.setdefault(item.collection_id or item_file.parts[-3], []).append(item)
    catalog = pystac.Catalog(id="sdgcube-archive", description="Everything in this sdgcube archive")
    catalog.set_self_href(str(archive_dir / "catalog.json"))
    for product, items in sorted(by_product.items()):
        collection = pystac.Collection(
            id=product,
            description=f"Datasets of product {product}",
            extent=pystac.Extent.from_items(items),
            license="CC-BY-4.0",
        )
        collection.set_self_href(str(archive_dir / product / "collection.json"))
        catalog.add_child(collection)
        for item in items:
            collection.add_item(item)
            item.set_self_href(hrefs[id(item)])
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return catalog
