"""Connecting ODC to the index database and keeping its schema and products in place."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import sqlalchemy as sa
from datacube import Datacube
from datacube.cfg import ODCConfig, ODCEnvironment
from datacube.drivers._tools import DRIVER_CACHE_LOCK
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


class _IndexDriversOnDemand:
    """ODC's registry of index drivers, loading each driver when it is first named.

    ODC's own (``datacube.drivers.indexes.IndexDriverCache``, behind the ``index_cache()``
    singleton) loads every installed driver on first use, so a ``postgres`` index pays ~0.4 s for
    importing the ``postgis`` driver (geoalchemy2, antimeridian) in every process. datacube is
    pinned; tests/test_imports.py checks that the other driver stays unloaded, and the index tests
    run both drivers through this registry."""

    def __init__(self) -> None:
        self._entry_points = {ep.name: ep for ep in entry_points(group="datacube.plugins.index")}
        self._drivers: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        if name not in self._drivers:
            self._load(name)
        return self._drivers.get(name)

    def drivers(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._drivers))

    def _load(self, name: str) -> None:
        entry_point = self._entry_points.get(name)
        if entry_point is None:
            # An alias ("default", "legacy") is known only from its driver: load them all, as ODC.
            for other in set(self._entry_points) - set(self._drivers):
                self._load(other)
            return
        driver = entry_point.load()()
        self._drivers[name] = driver
        for alias in getattr(driver, "aliases", ()):
            self._drivers.setdefault(alias, driver)


def _load_index_drivers_on_demand() -> None:
    from datacube.drivers import indexes

    with DRIVER_CACHE_LOCK:
        if not hasattr(indexes.index_cache, "_instance"):
            indexes.index_cache._instance = _IndexDriversOnDemand()  # type: ignore[attr-defined]


def odc_environment(target: IndexTarget) -> ODCEnvironment:
    """An ODC environment for the target, built in code so no ``datacube.conf`` is needed."""
    _load_index_drivers_on_demand()
    cfg = ODCConfig(raw_dict={_ENV_NAME: {"index_driver": target.driver, "db_url": target.url}})
    return cfg[_ENV_NAME]


def connect(settings: Settings) -> Datacube:
    """A Datacube over the initialised index of these settings."""
    return _open(odc_environment(resolve_index(settings)))


def _open(env: ODCEnvironment) -> Datacube:
    try:
        return Datacube(env=env, app="sdgcube")
    except IndexSetupError as exc:
        raise IndexUnavailable(
            f"the index is not initialised ({exc}): run 'sdgcube db init'"
        ) from None
    except Exception as exc:
        raise IndexUnavailable(f"cannot open the index: {exc}") from exc


def _as_stored(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The document as the index gives it back (JSON: integer keys become strings)."""
    try:
        return json.loads(json.dumps(doc))
    except (TypeError, ValueError):
        return None


def add_product(index: Index, doc: dict[str, Any]) -> Product:
    """Add a product, or update it in place when only safe changes differ; idempotent."""
    name = doc.get("name")
    existing = index.products.get_by_name(name) if isinstance(name, str) else None
    if existing is not None and existing.definition == _as_stored(doc):
        # The stored definition passed validation when it was added: checking it again costs ODC
        # a JSON-schema validation per product on every command that ensures the built-ins.
        return existing
    try:
        product = index.products.from_doc(doc)
    except Exception as exc:
        raise IngestError(f"invalid product definition {doc.get('name')!r}: {exc}") from exc
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


_INIT_LOCK = 0x5D6C0BE
"""The advisory lock that servers starting together on one empty database take turns on."""


@contextlib.contextmanager
def _one_initialiser(target: IndexTarget) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock: two processes creating the schema (and the PostGIS
    extension) at once collide on PostgreSQL's catalogue, so one waits for the other."""
    engine = sa.create_engine(target.url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            raise IndexUnavailable(f"cannot initialise the index: {exc.orig}") from None
        with conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _INIT_LOCK})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _INIT_LOCK})
    finally:
        engine.dispose()


def init_index(settings: Settings) -> Datacube:
    """Create the ODC schema and the built-in products if missing; safe to run any number of times,
    also by several processes at once."""
    target = resolve_index(settings)
    with _one_initialiser(target):
        return _init_index(target)


def _init_index(target: IndexTarget) -> Datacube:
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
    return _open(env)
