"""sdgcube's own tables beside the index: created once, by whichever process comes first."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

__all__ = ["SCHEMA", "create_tables"]

SCHEMA = "sdgcube"


def create_tables(engine: sa.Engine, metadata: sa.MetaData, *, added: Iterable[str] = ()) -> None:
    """Create ``metadata``'s tables if missing, then run ``added`` (``ALTER TABLE … ADD COLUMN IF NOT
    EXISTS`` for columns newer than an existing table). Web workers start together and ``CREATE …
    IF NOT EXISTS`` is not safe against itself: one transaction-scoped advisory lock per metadata."""
    names = ",".join(sorted(metadata.tables))
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"schema/{names}"))))
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        metadata.create_all(conn)
        for statement in added:
            conn.execute(sa.text(statement))
