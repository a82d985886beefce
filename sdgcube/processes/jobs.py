"""The job table: every OGC API Processes job, kept in the index's PostgreSQL.

Jobs live in the database rather than in a web worker's memory so that every worker, every Dask
worker running a job, and the next server start see the same state. A job row is written by the
web worker that accepts it, then only by the task that runs it (status, percent, message), except
for dismissal and the start-up sweep of orphans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from sdgcube.auth.identity import ANONYMOUS_USER
from sdgcube.datacube.tables import SCHEMA, create_tables

__all__ = ["ACTIVE", "FINISHED", "JobOwner", "JobRecord", "JobStore", "jobs_table", "results_table"]

ACTIVE = ("accepted", "running")
FINISHED = ("successful", "failed", "dismissed")

_metadata = sa.MetaData(schema=SCHEMA)
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
    sa.Column("owner", sa.Text, nullable=False, server_default=ANONYMOUS_USER, index=True),
    sa.Column("groups", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("pixels", sa.BigInteger, nullable=False, server_default="0"),
)
results_table = sa.Table(
    "job_results",
    _metadata,
    sa.Column("collection", sa.Text, primary_key=True),
    sa.Column("job_id", sa.Text, nullable=False, index=True),
)
"""The collections (products, vector layers) a job published: they are as visible as the job."""
_ADDED_COLUMNS = [
    f"ALTER TABLE {SCHEMA}.jobs ADD COLUMN IF NOT EXISTS {column} NOT NULL DEFAULT {default}"
    for column, default in [("owner text", f"'{ANONYMOUS_USER}'"), ("groups text[]", "'{}'"),
                            ("public boolean", "false"), ("pixels bigint", "0")]
]  # fmt: skip
"""Job tables made before accounts existed gain these columns; their jobs belong to nobody."""


@dataclass(frozen=True)
class JobOwner:
    """Who submitted a job, the groups that see it with them, and the pixel values it reads."""

    user: str = ANONYMOUS_USER
    groups: tuple[str, ...] = ()
    pixels: int = 0


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
    owner: str = ANONYMOUS_USER
    groups: tuple[str, ...] = ()
    public: bool = False
    pixels: int = 0

    def visible_to(self, user: str, groups: Sequence[str], *, admin: bool) -> bool:
        """Its owner, the groups it was shared with, everyone once public, and admins see it."""
        return admin or self.public or user == self.owner or bool(set(groups) & set(self.groups))

    def as_pygeoapi(self) -> dict[str, Any]:
        """The job dict pygeoapi's API layer expects from a manager (ISO strings for times)."""
        iso = {
            key: (value.isoformat() if isinstance(value, datetime) else value)
            for key, value in self.__dict__.items()
            if key not in ("owner", "groups", "public", "pixels")
        }
        return {**iso, "type": "process"}


def _record(row: sa.Row[Any], skip: Sequence[str] = ()) -> JobRecord:
    values = {k: v for k, v in row._mapping.items() if k not in skip}
    values["groups"] = tuple(values["groups"])
    return JobRecord(**values)


def _now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Reads and writes job rows; one per `Services` (over the cube's engine), shared by threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        create_tables(engine, _metadata, added=_ADDED_COLUMNS)

    def add(
        self,
        identifier: str,
        process_id: str,
        parameters: dict[str, Any],
        owner: JobOwner = JobOwner(),
        admit: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        """Insert an accepted job; ``admit`` (quota checks) runs first in the same transaction,
        under a lock per owner, so two workers accepting at once cannot both pass it."""
        now = _now()
        with self.engine.begin() as conn:
            if admit is not None:
                lock = sa.func.hashtext(f"jobs/{owner.user}")
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
                admit(conn)
            conn.execute(
                jobs_table.insert().values(
                    identifier=identifier, process_id=process_id, status="accepted",
                    message="Job accepted and queued", progress=0, created=now, updated=now,
                    parameters=parameters, owner=owner.user, groups=list(owner.groups),
                    pixels=owner.pixels,
                )
            )  # fmt: skip

    def add_results(self, job_id: str, collections: Sequence[str]) -> None:
        """Record the collections a job published (idempotent: a task that re-runs publishes again)."""
        from sqlalchemy.dialects.postgresql import insert

        if not collections:
            return
        rows = [{"collection": name, "job_id": job_id} for name in collections]
        statement = insert(results_table).values(rows).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            conn.execute(statement)

    def result_job(self, collection: str) -> JobRecord | None:
        """The job that published ``collection``; None for everything not a job's result."""
        query = (
            jobs_table.select()
            .join(results_table, results_table.c.job_id == jobs_table.c.identifier)
            .where(results_table.c.collection == collection)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row else None

    def result_jobs(self, collections: Sequence[str]) -> dict[str, JobRecord]:
        """`result_job` for many collections in one query: those that are results, by name."""
        query = (
            sa.select(results_table.c.collection, jobs_table)
            .join(jobs_table, results_table.c.job_id == jobs_table.c.identifier)
            .where(results_table.c.collection.in_(list(collections)))
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {row.collection: _record(row, skip=("collection",)) for row in rows}

    def share(self, identifier: str, *, groups: Sequence[str], public: bool) -> bool:
        """Set who sees a job and its results besides its owner (and admins)."""
        return self.update(identifier, groups=list(groups), public=public)

    def get(self, identifier: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                jobs_table.select().where(jobs_table.c.identifier == identifier)
            ).first()
        return _record(row) if row else None

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
        owner: str | None = None,
    ) -> tuple[list[JobRecord], int]:
        """Jobs newest first, filtered (``owner``: only theirs), with the total number that match."""
        where = []
        if owner is not None:
            where.append(jobs_table.c.owner == owner)
        if status:
            where.append(jobs_table.c.status.in_(status))
        if process_ids:
            where.append(jobs_table.c.process_id.in_(process_ids))
        query = jobs_table.select().where(*where).order_by(jobs_table.c.created.desc())
        count = sa.select(sa.func.count()).select_from(jobs_table).where(*where)
        with self.engine.connect() as conn:
            rows = conn.execute(query.offset(offset).limit(limit)).all()
            total = conn.execute(count).scalar_one()
        return [_record(row) for row in rows], total

    def active(self) -> list[JobRecord]:
        return self.list(status=ACTIVE)[0]
