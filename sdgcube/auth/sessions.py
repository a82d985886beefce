"""Browser sessions: an opaque random id in an HttpOnly cookie, the identity it stands for in the
index's PostgreSQL (so every web worker knows it, and signing out ends it everywhere).

A session opened with an API key remembers the key: revoking the key ends the session too
(`Authenticator` checks it on every request). State-changing requests made with the cookie must
also send the session's CSRF token in ``X-CSRF-Token``: a cross-site form can make the browser send
the cookie, never read the token (the cookie is SameSite=Lax as a second line).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from sdgcube.auth.identity import Identity
from sdgcube.datacube.tables import SCHEMA, create_tables
from sdgcube.errors import Forbidden, Unauthenticated

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "OpenedSession",
    "SessionIdentity",
    "SessionStore",
    "check_csrf",
]

COOKIE = "sdgcube_session"
CSRF_HEADER = "x-csrf-token"

_metadata = sa.MetaData(schema=SCHEMA)
sessions_table = sa.Table(
    "sessions",
    _metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("user", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("groups", ARRAY(sa.Text), nullable=False),
    sa.Column("via", sa.Text, nullable=False),
    sa.Column("key_id", sa.Text),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires", sa.DateTime(timezone=True), nullable=False, index=True),
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    token: str
    """The cookie's value; only its hash is stored."""
    csrf: str
    expires: datetime


@dataclass(frozen=True)
class SessionIdentity:
    identity: Identity
    csrf: str


class SessionStore:
    def __init__(self, engine: sa.Engine, *, hours: float) -> None:
        self.engine = engine
        self.lifetime = timedelta(hours=hours)
        create_tables(engine, _metadata)

    def open(self, identity: Identity) -> OpenedSession:
        """A new session for a caller who just proved who they are (key or OIDC sign-in)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.expires < now))
            conn.execute(
                sessions_table.insert().values(
                    id_hash=_hash(token), user=identity.user, role=identity.role,
                    groups=list(identity.groups), via=identity.via, key_id=identity.key_id,
                    csrf=csrf, created=now, expires=now + self.lifetime,
                )
            )  # fmt: skip
        return OpenedSession(token, csrf, now + self.lifetime)

    def find(self, token: str) -> SessionIdentity:
        """The session's identity; Unauthenticated when it is unknown, ended or expired."""
        query = sessions_table.select().where(
            sessions_table.c.id_hash == _hash(token),
            sessions_table.c.expires > datetime.now(UTC),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise Unauthenticated("the session has ended: sign in again")
        identity = Identity(row.user, row.role, tuple(row.groups), "session", row.key_id)
        return SessionIdentity(identity, row.csrf)

    def close(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.id_hash == _hash(token)))


def check_csrf(expected: str, sent: str | None) -> None:
    if sent is None or not hmac.compare_digest(expected, sent):
        raise Forbidden(f"a request changing state with the session cookie needs its {CSRF_HEADER}")
