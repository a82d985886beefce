"""Connecting ODC to the index database and keeping its schema and products in place."""

from __future__ import annotations

import logging
from typing import Any

from datacube import Datacube
from datacube.cfg import ODCConfig, ODCEnvironment
from datacube.index import Index, index_connect
from datacube.index.exceptions import IndexSetupError
from datacube.model import Product

from sdgcube.datacube.database import IndexTarget, resolve_index
from sdgcube.datacube.products import builtin_product_docs
from sdgcube.errors import IndexUnavailable, IngestError
from sdgcube.settings import Settings

__all__ = ["add_product", "connect", "init_index", "odc_environment"]

_LOG = logging.getLogger(__name__)
_ENV_NAME = "sdgcube"


def odc_environment(target: IndexTarget) -> ODCEnvironment:
    """An ODC environment for the target, built in code so no ``datacube.conf`` is needed."""
    cfg = ODCConfig(raw_dict={_ENV_NAME: {"index_driver": target.driver, "db_url": target.url}})
    return cfg[_ENV_NAME]


def connect(settings: Settings) -> Datacube:
    """A Datacube over the initialised index of these settings."""
    env = odc_environment(resolve_index(settings))
    try:
        return Datacube(env=env, app="sdgcube")
    except IndexSetupError as exc:
        raise IndexUnavailable(
            f"the index is not initialised ({exc}): run 'sdgcube db init'"
        ) from None
    except Exception as exc:
        raise IndexUnavailable(f"cannot open the index: {exc}") from exc


def add_product(index: Index, doc: dict[str, Any]) -> Product:
    """Add a product, or update it in place when only safe changes differ; idempotent."""
    try:
        product = index.products.from_doc(doc)
    except Exception as exc:
        raise IngestError(f"invalid product definition {doc.get('name')!r}: {exc}") from exc
    existing = index.products.get_by_name(product.name)
    if existing is None:
        return _stored(index.products.add(product, allow_table_lock=True), product.name)
    can_update, safe, unsafe = index.products.can_update(product, allow_unsafe_updates=False)
    if not safe and not unsafe:
        return existing
    if not can_update:
        changes = ", ".join(str(change[0]) for change in unsafe)
        raise IngestError(f"product {product.name!r} exists with incompatible changes: {changes}")
    return _stored(
        index.products.update(product, allow_unsafe_updates=False, allow_table_lock=True),
        product.name,
    )


def _stored(product: Product | None, name: str) -> Product:
    # ODC answers the product as read back after writing it; None would mean the write was lost.
    if product is None:
        raise IndexUnavailable(f"product {name!r} was written but cannot be read back")
    return product


def _forget_dynamic_indexes() -> None:
    """Detach the per-product indexes ODC's postgres driver left on its module-global table.

    ODC 1.9 builds each dynamic index (``dix_*``) as an SQLAlchemy Index over its global ``DATASET``
    table, which attaches it there for good; ``init_db`` on another database later in the same
    process would then try to create all of them again and fail with DuplicateTable."""
    from datacube.drivers.postgres import _schema

    for index in list(_schema.DATASET.indexes):
        if index.name and str(index.name).startswith("dix_"):
            _schema.DATASET.indexes.discard(index)


def init_index(settings: Settings) -> Datacube:
    """Create the ODC schema and the built-in products if missing; safe to run any number of times."""
    target = resolve_index(settings)
    env = odc_environment(target)
    if target.driver == "postgres":
        _forget_dynamic_indexes()
    try:
        index = index_connect(env, application_name="sdgcube-init", validate_connection=False)
        # The postgres driver switches to its own roles while indexing, so it needs them created;
        # the postgis driver does not, and its grants use PostgreSQL 16 syntax (Debian 12 has 15).
        created = index.init_db(
            with_default_types=True, with_permissions=target.driver == "postgres"
        )
    except Exception as exc:
        raise IndexUnavailable(f"cannot initialise the index: {exc}") from exc
    _LOG.info("index schema %s", "created" if created else "already present")
    for doc in builtin_product_docs():
        add_product(index, doc)
    index.close()
    return connect(settings)
