"""The account store against the real index database: users, keys, and what `verify` answers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sdgcube.auth.accounts import (
    LAST_USED_EVERY,
    AccountStore,
    key_identity,
)
from sdgcube.errors import InvalidRequest, Unauthenticated, UnknownKey, UnknownUser


@pytest.fixture(scope="module")
def store(engine: sa.Engine) -> AccountStore:
    return AccountStore(engine)


@pytest.fixture
def user(store: AccountStore) -> str:
    """A fresh user (the database is shared by the module): analyst in groups a and b."""
    name = f"u{uuid.uuid4().hex[:8]}"
    store.add_user(name, "analyst", ["a", "b"])
    return name


def _sql(store: AccountStore, statement: str, **params: object) -> list[sa.Row]:
    with store.engine.begin() as conn:
        result = conn.execute(sa.text(statement), params)
        return list(result.all()) if result.returns_rows else []


# --- users ---------------------------------------------------------------------------------------------


def test_a_user_is_added_listed_and_read_back(store, user):
    found = store.user(user)
    assert found is not None and (found.role, found.groups) == ("analyst", ("a", "b"))
    assert found.created.tzinfo is not None
    assert user in [u.name for u in store.users()]
    assert store.user("nobody-here") is None
    assert AccountStore(store.engine).user(user) == found


@pytest.mark.parametrize("name", ["", "has space", "a:b", "-lead", "anonymous", "x" * 65])
def test_invalid_user_names_are_refused(store, name):
    with pytest.raises(InvalidRequest, match="user name"):
        store.add_user(name, "public")


def test_an_existing_user_cannot_be_added_again(store, user):
    with pytest.raises(InvalidRequest, match="already exists"):
        store.add_user(user, "admin")
    assert store.user(user).role == "analyst"


def test_removing_a_user_removes_their_keys(store, user):
    token = store.create_key(user, name="one").secret
    store.create_key(user, name="two")
    assert store.remove_user(user) == 2
    assert store.user(user) is None and store.keys(user) == []
    assert _sql(store, "SELECT count(*) FROM sdgcube.api_keys WHERE owner = :o", o=user)[0][0] == 0
    with pytest.raises(Unauthenticated, match="unknown API key"):
        store.verify(token)
    with pytest.raises(UnknownUser):
        store.remove_user(user)


# --- keys ----------------------------------------------------------------------------------------------


def test_the_secret_is_nowhere_in_the_table(store, user):
    new = store.create_key(user, name="ci", role="public")
    prefix, key_id, secret = new.secret.split("_", 2)
    assert (prefix, key_id) == ("sdgk", new.key.id) and len(secret) >= 43
    row = _sql(store, "SELECT * FROM sdgcube.api_keys WHERE id = :id", id=key_id)[0]
    text = " ".join(str(value) for value in row)
    assert secret not in text and new.secret not in text
    assert secret[:16] not in text  # no prefix of it either
    assert "secret" not in new.key.__dict__ and new.secret not in repr(new.key)


def test_verify_answers_the_user_and_key(store, user):
    new = store.create_key(user, name="script", role="public")
    found_user, key = store.verify(new.secret)
    assert found_user == store.user(user)
    assert (key.id, key.owner, key.role, key.active) == (new.key.id, user, "public", True)
    identity = key_identity(found_user, key)
    assert (identity.user, identity.role, identity.groups, identity.via, identity.key_id) == (
        user, "public", ("a", "b"), "key", key.id,
    )  # fmt: skip
    plain = store.create_key(user, name="plain")
    assert key_identity(*store.verify(plain.secret)).role == "analyst"


@pytest.mark.parametrize(
    "token",
    ["", "sdgk_", "Bearer x", "sdgk_zzzzzzzzzzzz_" + "a" * 43, "sdgk_0123456789ab", "x" * 5000],
)
def test_malformed_tokens(store, token):
    with pytest.raises(Unauthenticated, match=r"^malformed API key$"):
        store.verify(token)


def test_unknown_id_and_wrong_secret_answer_alike(store, user):
    new = store.create_key(user, name="k")
    _, key_id, secret = new.secret.split("_", 2)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for token in (f"sdgk_{key_id}_{wrong}", f"sdgk_{'0' * 12}_{secret}"):
        with pytest.raises(Unauthenticated, match=r"^unknown API key$"):
            store.verify(token)
    store.revoke(key_id)
    with pytest.raises(Unauthenticated, match=r"^unknown API key$"):  # revocation not told
        store.verify(f"sdgk_{key_id}_{wrong}")


def test_revocation_takes_effect_on_the_next_verify(store, user):
    new = store.create_key(user, name="k")
    other = AccountStore(store.engine)  # another web worker
    assert other.verify(new.secret)[1].id == new.key.id
    revoked = store.revoke(new.key.id)
    assert revoked.revoked is not None and not revoked.active
    with pytest.raises(Unauthenticated, match=r"^the API key was revoked$"):
        other.verify(new.secret)
    assert store.revoke(new.key.id).revoked == revoked.revoked  # again: the first time stays
    with pytest.raises(UnknownKey, match="unknown API key 'nope'"):
        store.revoke("nope")


def test_an_expired_key_is_refused_with_its_date(store, user):
    new = store.create_key(user, name="short", expires=datetime.now(UTC) + timedelta(hours=1))
    assert store.verify(new.secret)[1].expires == new.key.expires
    past = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    _sql(store, "UPDATE sdgcube.api_keys SET expires = :e WHERE id = :id", e=past, id=new.key.id)
    with pytest.raises(Unauthenticated, match=r"^the API key expired on 2026-01-02 03:04 UTC$"):
        store.verify(new.secret)
    assert not store.keys(user)[0].active


def test_keys_cannot_be_made_for_nobody_or_already_expired(store, user):
    with pytest.raises(UnknownUser, match="unknown user 'ghost'"):
        store.create_key("ghost", name="k")
    with pytest.raises(InvalidRequest, match="in the past"):
        store.create_key(user, name="k", expires=datetime(2020, 1, 1))
    with pytest.raises(InvalidRequest, match="role"):
        store.create_key(user, name="k", role="two words")
    with pytest.raises(InvalidRequest, match="key name"):
        store.create_key(user, name="line\nbreak")
    assert store.keys(user) == []


def test_keys_lists_by_owner(store, user):
    first = store.create_key(user, name="first").key
    second = store.create_key(user, name="second").key
    assert [k.id for k in store.keys(user)] == [first.id, second.id]
    everyone = store.keys()
    assert {first.id, second.id} <= {k.id for k in everyone}


def test_last_used_is_written_at_most_once_a_minute(store, user):
    new = store.create_key(user, name="k")
    assert new.key.last_used is None
    first = store.verify(new.secret)[1].last_used
    assert first is not None and store.keys(user)[0].last_used == first
    assert store.verify(new.secret)[1].last_used == first  # within the minute: no write
    assert store.keys(user)[0].last_used == first
    old = first - LAST_USED_EVERY - timedelta(seconds=1)
    _sql(store, "UPDATE sdgcube.api_keys SET last_used = :t WHERE id = :id", t=old, id=new.key.id)
    assert store.verify(new.secret)[1].last_used > first


def test_verify_is_one_query_while_last_used_is_fresh(store, user):
    new = store.create_key(user, name="k")
    store.verify(new.secret)  # writes last_used
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        store.verify(new.secret)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].lstrip().startswith("SELECT")
    query = statements[0].replace("%(key_id)s", f"'{new.key.id}'")
    with store.engine.begin() as conn:  # a tiny table may be scanned; what matters is it can not be
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(line[0] for line in conn.execute(sa.text("EXPLAIN " + query)))
    assert "api_keys_pkey" in plan and "Seq Scan" not in plan, plan


def test_keys_made_at_once_have_distinct_ids(store, user):
    def make(i: int) -> str:
        return store.create_key(user, name=f"k{i}").secret

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(make, range(40)))
    ids = [store.verify(token)[1].id for token in tokens]
    assert len(set(ids)) == 40 and len(set(tokens)) == 40
    assert len(store.keys(user)) == 40
