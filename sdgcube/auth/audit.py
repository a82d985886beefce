"""The audit log: who did what to which job, key or user, and which requests were refused.

Rows are only ever added. `AuditLog.record` does not raise into its caller: by the time an event is
recorded its action has happened (a job accepted, a key made) or been refused, and failing then
would turn a done action into an error answer that invites a retry which repeats it. A database
error is logged (with the event, which holds no secret) and ``record`` answers False; the database
being down fails the request's own work anyway. Anything that looks like an API key token is cut
down to its public id before it is written.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from sdgcube.datacube.tables import SCHEMA, create_tables
from sdgcube.errors import InvalidRequest

__all__ = ["ACTIONS", "OUTCOMES", "AuditEvent", "AuditLog", "audit_table"]

LOGGER = logging.getLogger(__name__)
ACTIONS = frozenset(
    {
        "job.submit", "job.dismiss", "job.share", "key.create", "key.revoke", "user.add",
        "user.remove", "request.denied", "session.login", "session.logout",
    }
)  # fmt: skip
"""The actions the project records; others are accepted (a new feature need not edit this list)."""
OUTCOMES = ("ok", "denied")
MAX_LIMIT = 10_000
_MAX_TEXT = 2_000
"""``target`` and ``detail`` are cut to this: a hostile request line must not bloat the table."""
_TOKEN = re.compile(r"(sdgk_[0-9a-f]{12}_)[A-Za-z0-9_-]+")

_metadata = sa.MetaData(schema=SCHEMA)
audit_table = sa.Table(
    "audit",
    _metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),  # bigserial
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False, index=True),
    sa.Column("user", sa.Text, nullable=False, index=True),
    sa.Column("key_id", sa.Text),
    sa.Column("target", sa.Text, nullable=False, server_default=""),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint("outcome IN ('ok', 'denied')", name="audit_outcome"),
)
_c = audit_table.c


@dataclass(frozen=True)
class AuditEvent:
    action: str
    """``job.submit``, ``key.revoke``, ``request.denied``…: see `ACTIONS`."""
    user: str
    """Who acted: a user name, ``anonymous``, or ``cli:<login>`` for the command line."""
    target: str = ""
    """What was acted on: a job id, key id, user name, or the refused request's method and path."""
    outcome: str = "ok"
    """``ok`` or ``denied``."""
    detail: str = ""
    key_id: str | None = None
    """The API key the user acted with (its public id)."""
    at: datetime | None = None
    """When; None until recorded (the log sets it)."""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {OUTCOMES}")
        if not self.action or not self.user:
            raise ValueError("an audit event needs an action and a user")


def _clean(text: str) -> str:
    """No token secret, and no more than `_MAX_TEXT` characters."""
    return _TOKEN.sub(r"\1…", text)[:_MAX_TEXT]


class AuditLog:
    """Appends and reads audit events; one per process, shared by threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        create_tables(engine, _metadata)

    def record(self, event: AuditEvent) -> bool:
        """Append ``event`` (at now unless it says when); False, logged, if the database failed."""
        values = {
            "at": event.at or datetime.now(UTC), "action": event.action, "user": event.user,
            "key_id": event.key_id, "target": _clean(event.target), "outcome": event.outcome,
            "detail": _clean(event.detail),
        }  # fmt: skip
        try:
            with self.engine.begin() as conn:
                conn.execute(audit_table.insert().values(**values))
        except sa.exc.SQLAlchemyError as exc:
            LOGGER.error("audit event not recorded (%s): %s", exc.__class__.__name__, values)
            return False
        return True

    def read(
        self,
        *,
        limit: int = 100,
        user: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
    ) -> list[AuditEvent]:
        """Events newest first; ``since`` includes that instant (naive: UTC)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit {limit} is not between 1 and {MAX_LIMIT}")
        query = sa.select(audit_table).order_by(_c.at.desc(), _c.id.desc()).limit(limit)
        if user is not None:
            query = query.where(_c.user == user)
        if action is not None:
            query = query.where(_c.action == action)
        if since is not None:
            query = query.where(_c.at >= (since if since.tzinfo else since.replace(tzinfo=UTC)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEvent(
                row.action, row.user, row.target, row.outcome, row.detail, row.key_id, row.at
            )
            for row in rows
        ]
