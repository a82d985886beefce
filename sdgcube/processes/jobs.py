"""The job table: every OGC API Processes job, kept in the index's PostgreSQL.

Jobs live in the database rather than in a web worker's memory so that every worker, every Dask
worker running a job, and the next server start see the same state. A job row is written by the
web worker that accepts it, then only by the task that runs it (status, percent, message), except
for dismissal and the start-up sweep of orphans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["ACTIVE", "FINISHED", "JobRecord", "JobStore", "jobs_table"]

ACTIVE = ("accepted", "running")
FINISHED = ("successful", "failed", "dismissed")

_metadata = sa.MetaData(schema="sdgcube")
jobs_table = sa.Table(
    "jobs",
    _metadata,
    sa.Column("identifier", sa.Text, primary_key=True),
    sa.Column("process_id", sa.Text, nullable=False, index=True),
    sa.Column("status", sa.Text, nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started", sa.DateTime(timezone=True)),
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished", sa.DateTime(timezone=True)),
    sa.Column("parameters", JSONB, nullable=False),
    sa.Column("mimetype", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("task_key", sa.Text),
)


@dataclass(frozen=True)
class JobRecord:
    identifier: str
    process_id: str
    status: str
    message: str
    progress: int
    created: datetime
    started: datetime | None
    updated: datetime
    finished: datetime | None
    parameters: dict[str, Any]
    mimetype: str | None
    location: str | None
    task_key: str | None

    def as_pygeoapi(self) -> dict[str, Any]:
        """The job dict pygeoapi's API layer expects from a manager (ISO strings for times)."""
        iso = {
            key: (value.isoformat() if isinstance(value, datetime) else value)
            for key, value in self.__dict__.items()
        }
        return {**iso, "type": "process"}


def _now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Reads and writes job rows; one per `Services` (over the cube's engine), shared by threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            # Web workers start together; CREATE … IF NOT EXISTS is not safe against itself.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('sdgcube.jobs schema'))"))
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS sdgcube"))
            _metadata.create_all(conn)

    def add(self, identifier: str, process_id: str, parameters: dict[str, Any]) -> None:
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                jobs_table.insert().values(
                    identifier=identifier, process_id=process_id, status="accepted",
                    message="Job accepted and queued", progress=0, created=now, updated=now,
                    parameters=parameters,
                )
            )  # fmt: skip

    def get(self, identifier: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                jobs_table.select().where(jobs_table.c.identifier == identifier)
            ).first()
        return JobRecord(**row._mapping) if row else None

    def update(
        self, identifier: str, *, only_if: Sequence[str] | None = None, **values: Any
    ) -> bool:
        """Update a job; with ``only_if``, only while its status is one of those. True if it changed."""
        statement = jobs_table.update().where(jobs_table.c.identifier == identifier)
        if only_if is not None:
            statement = statement.where(jobs_table.c.status.in_(only_if))
        with self.engine.begin() as conn:
            return conn.execute(statement.values(updated=_now(), **values)).rowcount > 0

    def finish(self, identifier: str, status: str, message: str, **values: Any) -> bool:
        """Move an active job to a final status; False if it had already left the active states."""
        return self.update(
            identifier, only_if=ACTIVE, status=status, message=message, finished=_now(), **values
        )

    def list(
        self,
        *,
        status: Sequence[str] | None = None,
        process_ids: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[JobRecord], int]:
        """Jobs newest first, filtered, with the total number that match the filters."""
        where = []
        if status:
            where.append(jobs_table.c.status.in_(status))
        if process_ids:
            where.append(jobs_table.c.process_id.in_(process_ids))
        query = jobs_table.select().where(*where).order_by(jobs_table.c.created.desc())
        count = sa.select(sa.func.count()).select_from(jobs_table).where(*where)
        with self.engine.connect() as conn:
            rows = conn.execute(query.offset(offset).limit(limit)).all()
            total = conn.execute(count).scalar_one()
        return [JobRecord(**row._mapping) for row in rows], total

    def active(self) -> list[JobRecord]:
        return self.list(status=ACTIVE)[0]
