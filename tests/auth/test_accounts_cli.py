"""``sdgcube users``, ``keys`` and ``audit`` as an administrator runs them: the real command, the
embedded index under a fresh data dir, and tokens checked against the store the server uses."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sdgcube.auth.accounts import AccountStore
from sdgcube.datacube.database import resolve_index
from sdgcube.errors import Unauthenticated
from sdgcube.settings import Settings

pytestmark = pytest.mark.slow  # every command starts a Python and the embedded PostgreSQL
SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))
ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("accounts-cli")


@pytest.fixture(scope="module")
def store(data_dir: Path) -> Iterator[AccountStore]:
    """The store over the CLI's database, as a web worker of the server would open it."""
    engine = sa.create_engine(resolve_index(Settings(data_dir=data_dir)).url)
    yield AccountStore(engine)
    engine.dispose()


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDGCUBE_")}
    env["SDGCUBE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [SDGCUBE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def ok(data_dir: Path, *args: str) -> str:
    done = run(data_dir, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_key_made_on_the_command_line_opens_the_store_until_revoked(data_dir, store):
    assert "added user alice (role analyst, groups hydro)" in ok(
        data_dir, "users", "add", "alice", "--role", "analyst", "--group", "hydro"
    )
    made = run(
        data_dir, "keys", "create", "--user", "alice", "--name", "laptop", "--expires", "30d"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout.count("\n") == 1 and token.startswith("sdgk_")
    assert "will not be shown again" in made.stderr
    user, key = store.verify(token)
    assert (user.name, user.role, user.groups, key.name, key.role) == (
        "alice", "analyst", ("hydro",), "laptop", None,
    )  # fmt: skip
    assert key.expires is not None

    secret = token.split("_", 2)[2]
    for listing in (ok(data_dir, "keys", "list"), ok(data_dir, "keys", "list", "--json")):
        assert key.id in listing and "laptop" in listing
        assert secret not in listing and secret[:12] not in listing
    (listed,) = json.loads(ok(data_dir, "keys", "list", "--user", "alice", "--json"))
    assert (listed["id"], listed["active"], "token" not in listed) == (key.id, True, True)
    (alice,) = json.loads(ok(data_dir, "users", "list", "--json"))
    assert (alice["name"], alice["groups"], alice["active_keys"]) == ("alice", ["hydro"], 1)

    assert f"revoked key {key.id} of alice" in ok(data_dir, "keys", "revoke", key.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        store.verify(token)
    assert "revoked" in ok(data_dir, "keys", "list")


def test_a_key_for_scripts_with_its_own_role(data_dir, store):
    ok(data_dir, "users", "add", "bot", "--role", "analyst")
    made = json.loads(
        ok(data_dir, "keys", "create", "--user", "bot", "--role", "public", "--json",
           "--expires", "2099-12-31")
    )  # fmt: skip
    assert made["role"] == "public" and made["expires"].startswith("2100-01-01T00:00:00")
    assert store.verify(made["token"])[1].id == made["id"]
    assert "removed user bot and 1 keys" in ok(data_dir, "users", "remove", "bot")
    with pytest.raises(Unauthenticated, match="unknown API key"):
        store.verify(made["token"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["users", "add", "carol", "--role", "wizard"],
         "unknown role 'wizard': the policy defines anonymous, public, analyst, admin"),
        (["keys", "create", "--user", "alice", "--role", "root"], "unknown role 'root'"),
        (["keys", "create", "--user", "ghost"], "unknown user 'ghost'"),
        (["keys", "create", "--user", "alice", "--expires", "soon"], "--expires 'soon'"),
        (["keys", "create", "--user", "alice", "--expires", "2001-01-01"], "in the past"),
        (["keys", "revoke", "0123456789ab"], "unknown API key '0123456789ab'"),
        (["users", "add", "has:colon", "--role", "public"], "user name 'has:colon'"),
        (["users", "remove", "nobody"], "unknown user 'nobody'"),
        (["keys", "list", "--user", "nobody"], "unknown user 'nobody'"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(data_dir, store, args, fragment):
    before = store.keys(), store.users()
    done = run(data_dir, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("sdgcube: error:") and fragment in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert (store.keys(), store.users()) == before  # nothing changed


def test_audit_lists_what_the_commands_did(data_dir):
    ok(data_dir, "users", "add", "dave", "--role", "public")
    key_id = json.loads(ok(data_dir, "keys", "create", "--user", "dave", "--json"))["id"]
    ok(data_dir, "keys", "revoke", key_id)
    ok(data_dir, "users", "remove", "dave")
    events = json.loads(ok(data_dir, "audit", "--user", ACTOR, "--json", "--limit", "4"))
    assert [(e["action"], e["target"]) for e in events] == [
        ("user.remove", "dave"), ("key.revoke", key_id), ("key.create", key_id), ("user.add", "dave"),
    ]  # fmt: skip
    assert all(e["outcome"] == "ok" and e["user"] == ACTOR for e in events)
    created = json.loads(ok(data_dir, "audit", "--action", "key.create", "--json"))
    assert key_id in [e["target"] for e in created]
    assert {e["action"] for e in created} == {"key.create"}
    table = ok(data_dir, "audit", "--limit", "2")
    assert "user.remove" in table and "key.revoke" in table and "user.add" not in table
    assert json.loads(ok(data_dir, "audit", "--user", "nobody", "--json")) == []
