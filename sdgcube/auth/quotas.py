"""Rate limits and job quotas, counted in the index's PostgreSQL so that every web worker sees the
same counts.

Rate limits are fixed windows (60 s by default) per (user, route family): each request is one
``INSERT … ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`` on the row of its window, so
two workers counting the same caller at once cannot both pass the limit. A fixed window lets a
caller send up to twice the limit around a window's edge; that is the price of one round trip.

Job quotas are checked by `admit_job` inside the transaction that inserts the job row, under the
per-owner lock `JobStore.add` takes, against the owner's rows of the job table itself: nothing to
keep in step with the jobs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql import column, table

from sdgcube.auth.identity import Identity
from sdgcube.auth.policy import Quotas
from sdgcube.datacube.tables import SCHEMA, create_tables
from sdgcube.errors import Forbidden, QuotaExceeded
from sdgcube.settings import Limits

__all__ = [
    "CONCURRENT_RETRY_S",
    "DAY_S",
    "JobUsage",
    "RateLimiter",
    "RateState",
    "admit_job",
    "job_usage",
    "limits_document",
    "rate_headers",
    "rates_table",
]

DAY_S = 24 * 3600
"""The window of ``job_pixels_per_day``: the 24 hours before now, sliding."""
CONCURRENT_RETRY_S = 30
"""Retry-After for ``concurrent_jobs``: when a running job ends cannot be known; jobs are minutes."""
Clock = Callable[[], float]

# The columns of the job table (``sdgcube.processes.jobs`` owns it) that the job quotas read; auth
# sits below the processes, so it names them instead of importing them.
jobs_table = table(
    "jobs", column("owner", sa.Text), column("status", sa.Text),
    column("created", sa.DateTime(timezone=True)), column("started", sa.DateTime(timezone=True)),
    column("pixels", sa.BigInteger), schema=SCHEMA,
)  # fmt: skip
ACTIVE = ("accepted", "running")
"""As ``sdgcube.processes.jobs.ACTIVE``: jobs queued or running."""

_metadata = sa.MetaData(schema=SCHEMA)
rates_table = sa.Table(
    "rate_counts",
    _metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("family", sa.Text, primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("rate_counts_window", "window_start"),
)
"""Requests per (user, route family) in the fixed window starting at ``window_start`` (epoch s)."""


@dataclass(frozen=True)
class RateState:
    """A caller's standing in one route family's current window, after counting this request."""

    family: str
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the window ends and the count starts again."""
    window_s: int = 60


class RateLimiter:
    """Fixed-window request counters per (user, route family), shared by every worker on ``engine``.

    Rows of past windows are deleted as they are passed: each hit deletes its own key's older row in
    the same statement (an index range of the primary key), so the table holds at most one row per
    key besides the current ones; every ``sweep_every`` hits of this limiter, `sweep` deletes the
    rows of callers who did not come back."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        window_s: int = 60,
        clock: Clock = time.time,
        sweep_every: int = 1000,
    ) -> None:
        self.engine = engine
        self.window_s = window_s
        self.clock = clock
        self.sweep_every = sweep_every
        self._hits = 0
        create_tables(engine, _metadata)

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        return int(now // self.window_s) * self.window_s, now

    def hit(self, user: str, family: str, limit: int | None) -> RateState | None:
        """Count one request; None when the family has no limit (nothing is counted then).

        Over the limit: QuotaExceeded with the seconds to the window's end. Refused requests count
        too, so a client that keeps hammering stays refused until the window ends."""
        if limit is None:
            return None
        start, now = self._window()
        count = self._count(user, family, start)
        reset = max(1, math.ceil(start + self.window_s - now))
        self._hits += 1  # racy across threads, harmlessly: it only paces the sweeps
        if self._hits % self.sweep_every == 0:
            self.sweep()
        if count > limit:
            raise QuotaExceeded(
                f"requests_per_minute.{family}",
                f"more than {limit} {family} requests in {self.window_s} s from {user!r}: "
                f"retry in {reset} s",
                retry_after_s=reset,
            )
        return RateState(family, limit, limit - count, reset, self.window_s)

    def _count(self, user: str, family: str, start: int) -> int:
        """One round trip: this key's older windows deleted, this window's row counted up."""
        t = rates_table.c
        expired = (
            sa.delete(rates_table)
            .where(t.user_id == user, t.family == family, t.window_start < start)
            .returning(t.window_start)
            .cte("expired")
        )
        upsert = (
            insert(rates_table)
            .values(user_id=user, family=family, window_start=start, count=1)
            .on_conflict_do_update(
                index_elements=[t.user_id, t.family, t.window_start],
                set_={"count": rates_table.c.count + 1},
            )
            .returning(t.count)
            .add_cte(expired)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(upsert).scalar_one())

    def sweep(self, batch: int = 10_000) -> int:
        """Delete up to ``batch`` rows of windows that have ended; the number deleted.

        Rows another worker's sweep or hit has locked are skipped, not waited for: two sweeps
        locking the same rows in different orders would deadlock, and the next sweep gets them."""
        start, _ = self._window()
        t = rates_table.c
        expired = (
            sa.select(t.user_id, t.family, t.window_start)
            .where(t.window_start < start)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        statement = rates_table.delete().where(
            sa.tuple_(t.user_id, t.family, t.window_start).in_(expired)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount

    def usage(self, user: str) -> dict[str, int]:
        """This window's request counts of ``user`` by route family (families not used: absent)."""
        start, _ = self._window()
        t = rates_table.c
        query = sa.select(t.family, t.count).where(t.user_id == user, t.window_start == start)
        with self.engine.connect() as conn:
            return {family: int(count) for family, count in conn.execute(query).all()}


def rate_headers(state: RateState) -> dict[str, str]:
    """The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-06 (December 2022):
    ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (delta seconds) as
    Structured Field integers, and ``RateLimit-Policy`` as a quota policy item ``limit;w=window``.
    Later revisions (-07 on) fold the first three into one ``RateLimit`` field; these four are the
    ones clients and gateways read today."""
    return {
        "RateLimit-Limit": str(state.limit),
        "RateLimit-Remaining": str(max(0, state.remaining)),
        "RateLimit-Reset": str(state.reset_s),
        "RateLimit-Policy": f"{state.limit};w={state.window_s}",
    }


# --- job quotas ------------------------------------------------------------------------------------


def _counted() -> sa.ColumnElement[bool]:
    """Jobs whose pixels count against the daily quota: all but those that ended (failed, or
    dismissed) before they started, which read nothing."""
    j = jobs_table.c
    return sa.not_(sa.and_(j.started.is_(None), j.status.in_(("failed", "dismissed"))))


def _active(conn: sa.Connection, owner: str) -> int:
    j = jobs_table.c
    query = sa.select(sa.func.count()).where(j.owner == owner, j.status.in_(ACTIVE))
    return int(conn.execute(query).scalar_one())


def _recent_pixels(conn: sa.Connection, owner: str, now: float) -> list[tuple[datetime, int]]:
    """(created, pixels) of the owner's counted jobs of the last 24 hours, oldest first."""
    j = jobs_table.c
    since = datetime.fromtimestamp(now - DAY_S, UTC)
    query = (
        sa.select(j.created, j.pixels)
        .where(j.owner == owner, j.created > since, j.pixels > 0, _counted())
        .order_by(j.created)
    )
    return [(created, int(pixels)) for created, pixels in conn.execute(query).all()]


def _pixels_free_in(jobs: list[tuple[datetime, int]], needed: int, now: float) -> int:
    """Seconds until enough of the oldest jobs leave the 24-hour window to free ``needed`` pixels."""
    freed = 0
    for created, pixels in jobs:
        freed += pixels
        if freed >= needed:
            leaves = created + timedelta(seconds=DAY_S)
            # rounded to the millisecond first: float seconds would make 82800 s into 82801
            return max(1, math.ceil(round(leaves.timestamp() - now, 3)))
    return DAY_S


def _check_area(quotas: Quotas, area_km2: float) -> None:
    limit = quotas.max_job_area_km2
    if limit is not None and area_km2 > limit:
        raise Forbidden(
            f"the job covers {area_km2:,.0f} km², more than your max_job_area_km2 of {limit:,.0f} "
            "km²: ask for a smaller area"
        )


def _check_pixels(conn: sa.Connection, owner: str, limit: int, pixels: int, now: float) -> None:
    if pixels > limit:
        raise Forbidden(
            f"the job reads {pixels:,} pixel values, more than your whole job_pixels_per_day of "
            f"{limit:,}: ask for a smaller area, fewer years or a coarser resolution"
        )
    jobs = _recent_pixels(conn, owner, now)
    used = sum(p for _, p in jobs)
    if used + pixels > limit:
        retry = _pixels_free_in(jobs, used + pixels - limit, now)
        raise QuotaExceeded(
            "job_pixels_per_day",
            f"the job reads {pixels:,} pixel values and your jobs of the last 24 hours read {used:,}"
            f": more than your job_pixels_per_day of {limit:,}; retry in {retry} s",
            retry_after_s=retry,
        )


def admit_job(
    conn: sa.Connection,
    owner: str,
    quotas: Quotas,
    *,
    pixels: int,
    area_km2: float,
    clock: Clock = time.time,
) -> None:
    """Refuse a job the owner's quotas do not allow (the ``admit`` of `JobStore.add`).

    ``max_job_area_km2`` and a job larger than the whole daily quota are Forbidden: retrying will
    not help. ``concurrent_jobs`` (jobs accepted or running) and ``job_pixels_per_day`` (the jobs
    created in the 24 hours before now, except those that ended before they started, plus this
    one) are QuotaExceeded with when to retry."""
    _check_area(quotas, area_km2)
    if quotas.concurrent_jobs is not None:
        active = _active(conn, owner)
        if active >= quotas.concurrent_jobs:
            raise QuotaExceeded(
                "concurrent_jobs",
                f"you have {active} jobs queued or running, your concurrent_jobs limit is "
                f"{quotas.concurrent_jobs}: retry when one has finished",
                retry_after_s=CONCURRENT_RETRY_S,
            )
    if quotas.job_pixels_per_day is not None:
        _check_pixels(conn, owner, quotas.job_pixels_per_day, pixels, clock())


@dataclass(frozen=True)
class JobUsage:
    active: int
    """Jobs accepted or running."""
    pixels_last_24h: int
    """Pixel values of the jobs counted against ``job_pixels_per_day`` now."""


def job_usage(engine: sa.Engine, owner: str, *, clock: Clock = time.time) -> JobUsage:
    """What the owner's jobs use of the job quotas now."""
    with engine.connect() as conn:
        active = _active(conn, owner)
        pixels = sum(p for _, p in _recent_pixels(conn, owner, clock()))
    return JobUsage(active, pixels)


# --- the /limits document --------------------------------------------------------------------------


def _usage(limit: float | None, used: float) -> dict[str, Any]:
    remaining = None if limit is None else max(0, limit - used)
    return {"limit": limit, "used": used, "remaining": remaining}


def limits_document(
    identity: Identity,
    quotas: Quotas,
    rates: dict[str, int],
    jobs: JobUsage,
    families: tuple[str, ...],
    *,
    server_limits: Limits | None = None,
    window_s: int = 60,
) -> dict[str, Any]:
    """The caller, each of their limits with its use and what remains (``limit`` null: none), and
    the server-wide limits every job is held to besides. ``rates``: `RateLimiter.usage`."""
    document: dict[str, Any] = {
        "caller": {
            "user": identity.user,
            "role": identity.role,
            "groups": list(identity.groups),
            "via": identity.via,
            "signed_in": identity.signed_in,
            "key_id": identity.key_id,
        },
        "requests_per_minute": {
            "window_s": window_s,
            "families": {f: _usage(quotas.per_minute(f), rates.get(f, 0)) for f in families},
        },
        "jobs": {
            "concurrent_jobs": _usage(quotas.concurrent_jobs, jobs.active),
            "job_pixels_per_day": {
                **_usage(quotas.job_pixels_per_day, jobs.pixels_last_24h),
                "window_s": DAY_S,
            },
            "max_job_area_km2": {"limit": quotas.max_job_area_km2},
        },
    }
    if server_limits is not None:
        document["server"] = server_limits.model_dump(mode="json")
    return document
