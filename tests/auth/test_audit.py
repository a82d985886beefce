"""The audit log against the real index database: append, read back filtered, and never raise."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sdgcube.auth.audit import AuditEvent, AuditLog
from sdgcube.errors import InvalidRequest

TOKEN = "sdgk_0123456789ab_" + "S3cr3t-" * 6


@pytest.fixture(scope="module")
def log(engine: sa.Engine) -> AuditLog:
    return AuditLog(engine)


@pytest.fixture
def user() -> str:
    """A user name of this test alone: the table is shared by the module."""
    return f"u{uuid.uuid4().hex[:8]}"


def test_events_come_back_newest_first(log, user):
    for target in ("job-1", "job-2", "job-3"):
        assert log.record(AuditEvent("job.submit", user, target, key_id="0123456789ab"))
    events = log.read(user=user)
    assert [e.target for e in events] == ["job-3", "job-2", "job-1"]
    first = events[-1]
    assert (first.action, first.outcome, first.detail, first.key_id) == (
        "job.submit", "ok", "", "0123456789ab",
    )  # fmt: skip
    assert first.at is not None and abs(datetime.now(UTC) - first.at) < timedelta(minutes=1)
    assert AuditLog(log.engine).read(user=user) == events  # another worker sees them


def test_filters_by_user_action_time_and_limit(log, user):
    old = datetime(2020, 5, 1, tzinfo=UTC)
    log.record(AuditEvent("key.create", user, "k1", at=old))
    log.record(AuditEvent("key.revoke", user, "k1"))
    log.record(AuditEvent("request.denied", user, "GET /jobs", outcome="denied", detail="role"))
    log.record(AuditEvent("key.create", "someone-else", "k2"))
    assert [e.action for e in log.read(user=user, action="key.create")] == ["key.create"]
    assert {e.action for e in log.read(user=user, since=old + timedelta(days=1))} == {
        "key.revoke", "request.denied",
    }  # fmt: skip
    assert len(log.read(user=user, since=datetime(2020, 5, 1))) == 3  # naive is UTC, inclusive
    assert [e.action for e in log.read(user=user, limit=1)] == ["request.denied"]
    assert log.read(user=user)[0].outcome == "denied"
    assert log.read(user=user)[-1].at == old
    with pytest.raises(InvalidRequest, match="limit 0"):
        log.read(limit=0)


def test_events_are_checked_when_made():
    with pytest.raises(ValueError, match="outcome 'maybe'"):
        AuditEvent("job.submit", "alice", outcome="maybe")
    with pytest.raises(ValueError, match="action and a user"):
        AuditEvent("", "alice")


def test_no_token_secret_is_stored_and_long_text_is_cut(log, user):
    log.record(AuditEvent("request.denied", user, f"GET /tiles?api_key={TOKEN}", "denied",
                          detail=f"token {TOKEN} refused " + "x" * 5000))  # fmt: skip
    with log.engine.connect() as conn:
        row = conn.execute(
            sa.text('SELECT target, detail FROM sdgcube.audit WHERE "user" = :u'), {"u": user}
        ).one()
    assert "S3cr3t" not in row.target + row.detail
    assert "sdgk_0123456789ab_" in row.target and "sdgk_0123456789ab_" in row.detail
    assert len(row.detail) == 2000


def test_a_database_failure_is_logged_not_raised(log, user, caplog):
    broken = AuditLog(log.engine)
    # The same log, now pointed at a server that is not there: a real connection failure.
    broken.engine = sa.create_engine("postgresql+psycopg2://nobody@/none?host=/nonexistent")
    with caplog.at_level(logging.ERROR, logger="sdgcube.auth.audit"):
        assert broken.record(AuditEvent("key.create", user, detail=f"made {TOKEN}")) is False
    assert "audit event not recorded" in caplog.text and user in caplog.text
    assert "S3cr3t" not in caplog.text
    assert log.read(user=user) == []
