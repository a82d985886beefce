"""``sdgcube users``, ``sdgcube keys`` and ``sdgcube audit``: accounts, their API keys, and the log.

Whoever runs these commands can reach the index database, so they act as administrators; what
they change is recorded in the audit log as ``cli:<login name>``. The store, the policy and the
database stack are imported in the command bodies: the CLI's start-up stays light (`sdgcube.cli.app`).
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdgcube.cli.errors import fail, user_errors
from sdgcube.cli.options import DataDir, settings_for

if TYPE_CHECKING:
    from sdgcube.auth.accounts import AccountStore, ApiKey
    from sdgcube.auth.audit import AuditLog
    from sdgcube.settings import Settings

__all__ = ["audit", "keys_app", "parse_expiry", "users_app"]

users_app = typer.Typer(no_args_is_help=True, help="Users who call the server with API keys.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys: create, list, revoke.")

Json = Annotated[bool, typer.Option("--json", help="JSON on stdout, for scripts.")]
_DURATION = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class _Accounts:
    settings: Settings
    store: AccountStore
    log: AuditLog
    actor: str
    """``cli:<login name>``, as the audit log names whoever ran the command."""


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment nor in the password database
        return "cli:unknown"


@contextmanager
def _accounts(settings: Settings) -> Iterator[_Accounts]:
    """The store and the log over one engine for the whole command."""
    import sqlalchemy as sa

    from sdgcube.auth.accounts import AccountStore
    from sdgcube.auth.audit import AuditLog
    from sdgcube.datacube.database import resolve_index

    engine = sa.create_engine(resolve_index(settings).url)
    try:
        yield _Accounts(settings, AccountStore(engine), AuditLog(engine), _actor())
    finally:
        engine.dispose()


def _record(accounts: _Accounts, action: str, target: str, detail: str = "") -> None:
    from sdgcube.auth.audit import AuditEvent

    accounts.log.record(AuditEvent(action, accounts.actor, target, detail=detail))


def _check_role(settings: Settings, role: str | None) -> None:
    """Exit 2 unless the policy defines ``role`` (the store takes any word: a key may outlive
    its role, and then the policy treats it as anonymous)."""
    from sdgcube.auth.policy import load_policy

    roles = load_policy(settings.auth.policy_file).roles
    if role is not None and role not in roles:
        raise fail(f"unknown role {role!r}: the policy defines {', '.join(roles)}")


def parse_expiry(value: str, *, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``2w`` from now; a date ``2027-01-31``: the key works through that day
    (UTC); or an ISO 8601 date-time (naive: UTC)."""
    now = now or datetime.now(UTC)
    if match := _DURATION.fullmatch(value.strip()):
        return now + timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        if len(value.strip()) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            f"--expires {value!r} is not a duration (30d, 12h, 2w), a date or an ISO date-time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(moment: datetime | None, never: str = "-") -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else never


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _print_table(title: str, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for heading in headings:
        table.add_column(heading)
    for row in rows:
        table.add_row(*row)
    # Piped, rich would wrap at 80 columns and split ids across lines.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2))


# --- users ---------------------------------------------------------------------------------------------


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="User name (as the OIDC issuer knows them, if any)")],
    role: Annotated[str, typer.Option(help="A role of the policy")],
    group: Annotated[
        list[str] | None, typer.Option(help="A group whose shared jobs they see; repeatable")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user with a role of the policy."""
    with user_errors():
        settings = settings_for(data_dir)
        _check_role(settings, role)
        with _accounts(settings) as accounts:
            user = accounts.store.add_user(name, role, group or ())
            groups = ", ".join(user.groups) or "none"
            _record(accounts, "user.add", name, f"role {role}, groups {groups}")
    print(f"added user {name} (role {role}, groups {groups})")


@users_app.command("list")
def list_users(as_json: Json = False, data_dir: DataDir = None) -> None:
    """Every user with their role, groups and number of active keys."""
    with user_errors(), _accounts(settings_for(data_dir)) as accounts:
        users = accounts.store.users()
        every_key = accounts.store.keys()
    active = {user.name: sum(k.active for k in every_key if k.owner == user.name) for user in users}
    if as_json:
        _print_json([{"name": u.name, "role": u.role, "groups": list(u.groups),
                      "created": _iso(u.created), "active_keys": active[u.name]} for u in users])  # fmt: skip
        return
    rows = [(u.name, u.role, ", ".join(u.groups), _when(u.created), str(active[u.name]))
            for u in users]  # fmt: skip
    _print_table(
        f"users ({len(users)})", ("name", "role", "groups", "created", "active keys"), rows
    )


@users_app.command("remove")
def remove_user(
    name: Annotated[str, typer.Argument(help="User name")], data_dir: DataDir = None
) -> None:
    """Remove a user and every key of theirs; their jobs stay."""
    with user_errors(), _accounts(settings_for(data_dir)) as accounts:
        keys = accounts.store.remove_user(name)
        _record(accounts, "user.remove", name, f"{keys} keys removed")
    print(f"removed user {name} and {keys} keys")


# --- keys ----------------------------------------------------------------------------------------------


def _key_document(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "owner": key.owner, "role": key.role,
            "created": _iso(key.created), "expires": _iso(key.expires),
            "revoked": _iso(key.revoked), "last_used": _iso(key.last_used), "active": key.active}  # fmt: skip


def _state(key: ApiKey) -> str:
    if key.revoked is not None:
        return "revoked"
    return "active" if key.active else "expired"


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Option("--user", help="The key's owner")],
    name: Annotated[str, typer.Option(help="A label: what the key is for")] = "",
    role: Annotated[
        str | None, typer.Option(help="A role of the policy for this key (default: the user's)")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="30d, 12h, 2w; a date 2027-01-31 (through that day, UTC); a date-time"),
    ] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print its token: once, it is stored nowhere."""
    with user_errors():
        settings = settings_for(data_dir)
        _check_role(settings, role)
        until = parse_expiry(expires) if expires is not None else None
        with _accounts(settings) as accounts:
            new = accounts.store.create_key(user, name=name, role=role, expires=until)
            _record(accounts, "key.create", new.key.id,
                    f"owner {user}, role {role or '(user)'}, expires {_when(until, 'never')}")  # fmt: skip
    if as_json:
        _print_json({**_key_document(new.key), "token": new.secret})
        return
    print(f"created key {new.key.id} for {user} (role {role or 'of the user'}, "
          f"expires {_when(until, 'never')})", file=sys.stderr)  # fmt: skip
    print(new.secret)
    print("this token will not be shown again: store it now", file=sys.stderr)


@keys_app.command("list")
def list_keys(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's keys")] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Keys with their owner, role, expiry, last use and state; never a secret."""
    from sdgcube.errors import UnknownUser

    with user_errors(), _accounts(settings_for(data_dir)) as accounts:
        if user is not None and accounts.store.user(user) is None:
            raise UnknownUser(user)
        keys = accounts.store.keys(user)
    if as_json:
        _print_json([_key_document(key) for key in keys])
        return
    headings = ("id", "name", "owner", "role", "created", "expires", "last used", "state")
    rows = [(k.id, k.name, k.owner, k.role or "(user)", _when(k.created),
             _when(k.expires, "never"), _when(k.last_used, "never"), _state(k)) for k in keys]  # fmt: skip
    _print_table(f"API keys ({len(keys)})", headings, rows)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (keys list)")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: the next request made with it is refused."""
    with user_errors(), _accounts(settings_for(data_dir)) as accounts:
        key = accounts.store.revoke(key_id)
        _record(accounts, "key.revoke", key.id, f"owner {key.owner}")
    print(f"revoked key {key.id} of {key.owner} ({_when(key.revoked)})")


# --- audit ---------------------------------------------------------------------------------------------


def audit(
    limit: Annotated[int, typer.Option(help="At most this many events, newest first")] = 50,
    user: Annotated[str | None, typer.Option(help="Only this user's events")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (job.submit, key.revoke, …)")
    ] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """The audit log: who submitted, shared or dismissed jobs, made or revoked keys, was refused."""
    with user_errors(), _accounts(settings_for(data_dir)) as accounts:
        events = accounts.log.read(limit=limit, user=user, action=action)
    if as_json:
        _print_json([{"at": _iso(e.at), "action": e.action, "user": e.user, "key_id": e.key_id,
                      "target": e.target, "outcome": e.outcome, "detail": e.detail}
                     for e in events])  # fmt: skip
        return
    headings = ("at", "user", "key", "action", "target", "outcome", "detail")
    rows = [(_when(e.at), e.user, e.key_id or "", e.action, e.target, e.outcome, e.detail)
            for e in events]  # fmt: skip
    _print_table(f"audit events ({len(events)}, newest first)", headings, rows)
