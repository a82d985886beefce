"""Users and their API keys, kept in the index's PostgreSQL so that every web worker sees one set.

A token is ``sdgk_<id>_<secret>``: the id is public (it names the key in listings and the audit
log), the secret is shown once and only its SHA-256 is stored. The secret carries 256 random bits,
so a fast hash is right — a slow one (bcrypt, scrypt) defends guessable passwords, and would cost
every request tens of milliseconds. `AccountStore.verify` runs on every request: one indexed query,
no cache, so that a revoked key stops working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from sdgcube.auth.identity import ANONYMOUS_USER, Identity
from sdgcube.datacube.tables import SCHEMA, create_tables
from sdgcube.errors import InvalidRequest, Unauthenticated, UnknownKey, UnknownUser

__all__ = [
    "TOKEN_PREFIX",
    "AccountStore",
    "ApiKey",
    "NewKey",
    "User",
    "api_keys_table",
    "key_identity",
    "users_table",
]

TOKEN_PREFIX = "sdgk_"
LAST_USED_EVERY = timedelta(minutes=1)
"""``last_used`` is written at most this often per key: a write per request would double the cost
of authentication and contend on hot keys, and a minute is precise enough to spot unused keys."""
_TOKEN = re.compile(r"sdgk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""User names: what OIDC ``preferred_username`` or an e-mail address looks like; no ``:`` (the
audit log names the CLI ``cli:<login>``), no spaces."""
_WORD = re.compile(r"[^\s]{1,64}")
"""Roles and groups: one word (OIDC groups may hold ``/``)."""

_metadata = sa.MetaData(schema=SCHEMA)
users_table = sa.Table(
    "users",
    _metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("groups", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
)
api_keys_table = sa.Table(
    "api_keys",
    _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column(
        "owner",
        sa.Text,
        sa.ForeignKey(users_table.c.name, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.Text),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires", sa.DateTime(timezone=True)),
    sa.Column("revoked", sa.DateTime(timezone=True)),
    sa.Column("last_used", sa.DateTime(timezone=True)),
)
_KEY_COLUMNS = [c for c in api_keys_table.c if c.name != "secret_hash"]


@dataclass(frozen=True)
class User:
    name: str
    role: str
    groups: tuple[str, ...]
    created: datetime


@dataclass(frozen=True)
class ApiKey:
    """A key as listings show it: never its secret, nor the secret's hash."""

    id: str
    name: str
    owner: str
    role: str | None
    """Overrides the owner's role for requests made with this key (a read-only key for a script).
    The store does not check that it is no more than the owner's: whoever makes keys for others
    (the CLI, an admin) decides; a self-service route must check it."""
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    last_used: datetime | None
    """Within `LAST_USED_EVERY` of the last use."""

    @property
    def active(self) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > _now())


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str
    """The whole token, ``sdgk_<id>_<secret>``: shown once, stored nowhere."""


def key_identity(user: User, key: ApiKey) -> Identity:
    """Who a verified key speaks for: its owner, with the key's role if it has one."""
    return Identity(user.name, key.role or user.role, user.groups, via="key", key_id=key.id)


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _word(value: str, what: str) -> str:
    if not _WORD.fullmatch(value):
        raise InvalidRequest(f"{what} {value!r} must be one word of at most 64 characters")
    return value


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name == ANONYMOUS_USER:
        raise InvalidRequest(
            f"user name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-', starting "
            f"with a letter or digit, and not {ANONYMOUS_USER!r}"
        )
    return name


def _norm_expires(expires: datetime | None) -> datetime | None:
    """Naive times are UTC; a key cannot be made already expired."""
    if expires is None:
        return None
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    if expires <= _now():
        raise InvalidRequest(f"expiry {expires.isoformat()} is in the past")
    return expires


def _user(row: Any) -> User:
    return User(row.name, row.role, tuple(row.groups), row.created)


def _key(row: Any) -> ApiKey:
    values = row._mapping
    return ApiKey(**{c.name: values[c.name] for c in _KEY_COLUMNS})


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_u, _k = users_table.c, api_keys_table.c
_VERIFY = (
    sa.select(
        *_KEY_COLUMNS, _k.secret_hash, _u.role.label("user_role"), _u.groups,
        _u.created.label("user_created"),
    )
    .join_from(api_keys_table, users_table, _k.owner == _u.name)
    .where(_k.id == sa.bindparam("key_id"))
)  # fmt: skip
"""Key and owner by primary key: the one query of `AccountStore.verify`."""


class AccountStore:
    """Reads and writes users and keys; one per process (over the index's engine), shared by threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        create_tables(engine, _metadata)

    # --- users ---------------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, groups: Iterable[str] = ()) -> User:
        """A new user; InvalidRequest if the name is taken or not a valid name."""
        user = User(_check_name(name), _word(role, "role"),
                    tuple(dict.fromkeys(_word(g, "group") for g in groups)), _now())  # fmt: skip
        statement = insert(users_table).values(
            name=user.name, role=user.role, groups=list(user.groups), created=user.created
        )
        with self.engine.begin() as conn:
            added = conn.execute(statement.on_conflict_do_nothing()).rowcount
        if not added:
            raise InvalidRequest(f"user {name!r} already exists")
        return user

    def user(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(users_table.select().where(_u.name == name)).first()
        return _user(row) if row else None

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(users_table.select().order_by(_u.name)).all()
        return [_user(row) for row in rows]

    def remove_user(self, name: str) -> int:
        """Delete a user and (by the foreign key) their keys; the number of keys that went."""
        with self.engine.begin() as conn:
            keys = conn.execute(
                sa.select(sa.func.count()).select_from(api_keys_table).where(_k.owner == name)
            ).scalar_one()  # fmt: skip
            if not conn.execute(users_table.delete().where(_u.name == name)).rowcount:
                raise UnknownUser(name)
        return int(keys)

    # --- keys ----------------------------------------------------------------------------------------

    def create_key(
        self, owner: str, *, name: str, role: str | None = None, expires: datetime | None = None
    ) -> NewKey:
        """A new key for ``owner``; its token is in the answer and nowhere else."""
        if len(name) > 100 or not name.isprintable():
            raise InvalidRequest(
                f"key name {name[:100]!r} must be one line of at most 100 characters"
            )
        role = None if role is None else _word(role, "role")
        expires = _norm_expires(expires)
        with self.engine.begin() as conn:
            # The owner's row is share-locked: removing them now waits, and cannot orphan the key.
            found = conn.execute(
                sa.select(_u.name).where(_u.name == owner).with_for_update(key_share=True)
            ).first()
            if found is None:
                raise UnknownUser(owner)
            key, secret = self._insert_key(conn, owner, name=name, role=role, expires=expires)
        return NewKey(key, f"{TOKEN_PREFIX}{key.id}_{secret}")

    @staticmethod
    def _insert_key(
        conn: sa.Connection, owner: str, *, name: str, role: str | None, expires: datetime | None
    ) -> tuple[ApiKey, str]:
        secret = secrets.token_urlsafe(32)
        while True:  # 48-bit ids: a collision is rare, never silent
            key = ApiKey(secrets.token_hex(6), name, owner, role, _now(), expires, None, None)
            values = {c.name: getattr(key, c.name) for c in _KEY_COLUMNS}
            statement = insert(api_keys_table).values(**values, secret_hash=_hash(secret))
            if conn.execute(statement.on_conflict_do_nothing(index_elements=["id"])).rowcount:
                return key, secret

    def keys(self, owner: str | None = None) -> list[ApiKey]:
        """Keys, oldest first; revoked and expired ones too (``active`` tells)."""
        query = sa.select(*_KEY_COLUMNS).order_by(_k.created, _k.id)
        if owner is not None:
            query = query.where(_k.owner == owner)
        with self.engine.connect() as conn:
            return [_key(row) for row in conn.execute(query)]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key from the next request on; a key revoked before keeps its first time."""
        statement = (
            api_keys_table.update()
            .where(_k.id == key_id)
            .values(revoked=sa.func.coalesce(_k.revoked, _now()))
            .returning(*_KEY_COLUMNS)
        )
        with self.engine.begin() as conn:
            row = conn.execute(statement).first()
        if row is None:
            raise UnknownKey(key_id)
        return _key(row)

    def verify(self, token: str) -> tuple[User, ApiKey]:
        """The user and key a token belongs to, or Unauthenticated saying why not.

        A wrong secret answers as an unknown key: revocation and expiry are told only to whoever
        holds the secret."""
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise Unauthenticated("malformed API key")
        key_id, secret = match.groups()
        with self.engine.connect() as conn:
            row = conn.execute(_VERIFY, {"key_id": key_id}).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
            raise Unauthenticated("unknown API key")
        key = _key(row)
        now = _now()
        if key.revoked is not None:
            raise Unauthenticated("the API key was revoked")
        if key.expires is not None and key.expires <= now:
            raise Unauthenticated(f"the API key expired on {_when(key.expires)}")
        user = User(key.owner, row.user_role, tuple(row.groups), row.user_created)
        if key.last_used is None or now - key.last_used >= LAST_USED_EVERY:
            key = replace(key, last_used=now) if self._touch(key_id, now) else key
        return user, key

    def check_active(self, key_id: str) -> None:
        """Unauthenticated unless the key is still good (a session opened with it ends with it)."""
        query = sa.select(_k.revoked, _k.expires).where(_k.id == key_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked is not None:
            raise Unauthenticated("the API key that opened this session was revoked: sign in again")
        if row.expires is not None and row.expires <= _now():
            raise Unauthenticated("the API key that opened this session expired: sign in again")

    def _touch(self, key_id: str, now: datetime) -> bool:
        """Write ``last_used``; of workers racing on one key, one writes (the row lock re-checks)."""
        stale = sa.or_(_k.last_used.is_(None), _k.last_used <= now - LAST_USED_EVERY)
        statement = api_keys_table.update().where(_k.id == key_id, stale).values(last_used=now)
        with self.engine.begin() as conn:
            return bool(conn.execute(statement).rowcount)
