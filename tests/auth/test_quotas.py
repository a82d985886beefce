"""Rate limits and job quotas against the real index database: counters shared by every worker's
engine, windows on an injected clock, and each job quota tripping at exactly its number."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType

import pytest
import sqlalchemy as sa

from sdgcube.auth.identity import Identity
from sdgcube.auth.policy import FAMILIES, Quotas
from sdgcube.auth.quotas import (
    CONCURRENT_RETRY_S,
    DAY_S,
    JobUsage,
    RateLimiter,
    RateState,
    admit_job,
    job_usage,
    limits_document,
    rate_headers,
    rates_table,
)
from sdgcube.datacube.database import resolve_index
from sdgcube.errors import Forbidden, QuotaExceeded
from sdgcube.processes.jobs import JobOwner, JobStore
from sdgcube.settings import Limits, Settings

WINDOW_START = 1_800_000_000  # a multiple of 60: windows start on it
QUOTAS = Quotas(
    concurrent_jobs=2,
    job_pixels_per_day=1000,
    max_job_area_km2=100.0,
    requests_per_minute=MappingProxyType({"default": 10, "tiles": 3}),
)


@pytest.fixture(scope="module")
def url(bare_settings: Settings) -> str:
    return resolve_index(bare_settings).url


@pytest.fixture
def engines(url: str) -> Iterator[Callable[[], sa.Engine]]:
    """``make()``: a new engine on the index database, as each web worker has its own."""
    made: list[sa.Engine] = []

    def make() -> sa.Engine:
        made.append(sa.create_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- rate limits -----------------------------------------------------------------------------------


def test_the_hit_after_the_limit_is_refused_until_the_window_ends(engines, user):
    clock = Clock(WINDOW_START + 45.5)
    limiter = RateLimiter(engines(), clock=clock)
    states = [limiter.hit(user, "tiles", 3) for _ in range(3)]
    assert states == [RateState("tiles", 3, r, 15) for r in (2, 1, 0)]
    with pytest.raises(QuotaExceeded) as refused:
        limiter.hit(user, "tiles", 3)
    assert (refused.value.limit, refused.value.retry_after_s) == ("requests_per_minute.tiles", 15)
    assert "3 tiles requests in 60 s" in str(refused.value)


def test_a_new_window_starts_the_count_again_and_drops_the_old_row(engines, user):
    clock = Clock(WINDOW_START + 59.9)
    engine = engines()
    limiter = RateLimiter(engine, clock=clock)
    for _ in range(3):
        limiter.hit(user, "tiles", 3)
    with pytest.raises(QuotaExceeded) as refused:
        limiter.hit(user, "tiles", 3)
    assert refused.value.retry_after_s == 1
    clock.now = WINDOW_START + 60
    assert limiter.hit(user, "tiles", 3) == RateState("tiles", 3, 2, 60)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(rates_table.c.window_start).where(rates_table.c.user_id == user)
        ).all()
    assert rows == [(WINDOW_START + 60,)]


def test_two_workers_share_one_count(engines, user):
    """Two limiters on two engines (two web workers): the limit holds across both."""
    clock = Clock(WINDOW_START + 1)
    first, second = RateLimiter(engines(), clock=clock), RateLimiter(engines(), clock=clock)
    remaining = [limiter.hit(user, "edr", 4).remaining for limiter in (first, second) * 2]
    assert remaining == [3, 2, 1, 0]
    with pytest.raises(QuotaExceeded):
        second.hit(user, "edr", 4)
    with pytest.raises(QuotaExceeded):
        first.hit(user, "edr", 4)


def test_families_and_users_are_counted_apart(engines, user):
    limiter = RateLimiter(engines(), clock=Clock(WINDOW_START))
    limiter.hit(user, "tiles", 1)
    assert limiter.hit(user, "maps", 1) is not None
    assert limiter.hit(f"{user}-other", "tiles", 1) is not None
    with pytest.raises(QuotaExceeded):
        limiter.hit(user, "tiles", 1)


def test_no_limit_counts_nothing(engines, user):
    limiter = RateLimiter(engines(), clock=Clock(WINDOW_START))
    assert limiter.hit(user, "meta", None) is None
    limiter.hit(user, "tiles", 100)
    limiter.hit(user, "tiles", 100)
    limiter.hit(user, "collections", 100)
    assert limiter.usage(user) == {"tiles": 2, "collections": 1}


def test_the_sweep_removes_the_windows_of_callers_who_did_not_come_back(engines, user):
    clock = Clock(WINDOW_START)
    engine = engines()
    limiter = RateLimiter(engine, clock=clock, sweep_every=3)
    limiter.hit(f"{user}-gone", "tiles", 10)
    clock.now += 120

    def rows() -> int:
        query = sa.select(sa.func.count()).where(rates_table.c.user_id.like(f"{user}%"))
        with engine.connect() as conn:
            return conn.execute(query).scalar_one()

    limiter.hit(user, "tiles", 10)
    assert rows() == 2
    limiter.hit(user, "tiles", 10)  # the third hit of this limiter sweeps
    assert rows() == 1
    assert limiter.usage(f"{user}-gone") == {}


def test_rate_headers_follow_the_draft():
    headers = rate_headers(RateState("tiles", 600, 597, 42))
    assert headers == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "597",
        "RateLimit-Reset": "42",
        "RateLimit-Policy": "600;w=60",
    }


# --- job quotas ------------------------------------------------------------------------------------


@pytest.fixture
def store(engines) -> JobStore:
    return JobStore(engines())


def _submit(store: JobStore, user: str, *, pixels: int = 1, area_km2: float = 1.0, **kw) -> str:
    job_id = str(uuid.uuid4())

    def admit(conn: sa.Connection) -> None:
        admit_job(conn, user, QUOTAS, pixels=pixels, area_km2=area_km2, **kw)

    store.add(job_id, "band-math", {}, owner=JobOwner(user, pixels=pixels), admit=admit)
    return job_id


def test_concurrent_jobs_trip_at_the_configured_number(store, user):
    first = _submit(store, user)
    _submit(store, user)
    with pytest.raises(QuotaExceeded) as refused:
        _submit(store, user)
    assert (refused.value.limit, refused.value.retry_after_s) == (
        "concurrent_jobs",
        CONCURRENT_RETRY_S,
    )
    assert store.list(owner=user)[1] == 2  # the refused job was not inserted
    store.finish(first, "successful", "done")
    _submit(store, user)
    assert job_usage(store.engine, user).active == 2


def test_job_pixels_per_day_trip_at_the_configured_number(store, user):
    first = _submit(store, user, pixels=400)
    created = store.get(first).created.timestamp()
    store.finish(first, "successful", "done", started=store.get(first).created)
    second = _submit(store, user, pixels=400)
    store.finish(second, "successful", "done", started=store.get(second).created)
    _submit(store, user, pixels=200)  # exactly the 1000 of the quota
    later = Clock(created + 3600)
    with pytest.raises(QuotaExceeded) as refused:
        _submit(store, user, pixels=1, clock=later)
    assert refused.value.limit == "job_pixels_per_day"
    # Room for one more value comes when the first job leaves the 24 hours.
    assert refused.value.retry_after_s == DAY_S - 3600
    assert job_usage(store.engine, user, clock=later) == JobUsage(active=1, pixels_last_24h=1000)


def test_the_pixel_window_slides_and_jobs_that_never_started_do_not_count(store, user):
    first = _submit(store, user, pixels=600)
    created = store.get(first).created.timestamp()
    with pytest.raises(QuotaExceeded) as refused:
        _submit(store, user, pixels=500)
    # Freeing 100 values takes the first (600) job leaving the window.
    assert DAY_S - 60 <= refused.value.retry_after_s <= DAY_S
    _submit(store, user, pixels=500, clock=Clock(created + DAY_S + 1))
    store.finish(first, "failed", "the Dask scheduler could not be reached")
    _submit(store, user, pixels=400)  # 500 + 400: the failed 600 read nothing
    assert job_usage(store.engine, user).pixels_last_24h == 900


def test_a_job_larger_than_the_whole_day_is_forbidden(store, user):
    with pytest.raises(Forbidden, match="job_pixels_per_day of 1,000"):
        _submit(store, user, pixels=1001)


def test_the_area_limit_is_forbidden_not_a_quota_to_wait_for(store, user):
    _submit(store, user, area_km2=100.0)
    with pytest.raises(Forbidden, match="max_job_area_km2 of 100"):
        _submit(store, user, area_km2=100.5)


def test_unlimited_quotas_admit_anything(store, user):
    job_id = str(uuid.uuid4())
    store.add(
        job_id, "band-math", {}, owner=JobOwner(user, pixels=10**15),
        admit=lambda conn: admit_job(conn, user, Quotas(), pixels=10**15, area_km2=1e9),
    )  # fmt: skip
    assert store.get(job_id).pixels == 10**15


# --- the /limits document --------------------------------------------------------------------------


def test_the_limits_document(engines, store, user):
    limiter = RateLimiter(engines(), clock=Clock(WINDOW_START))
    for _ in range(2):
        limiter.hit(user, "tiles", QUOTAS.per_minute("tiles"))
    limiter.hit(user, "stac", QUOTAS.per_minute("stac"))
    assert limiter.hit(user, "meta", QUOTAS.per_minute("meta")) is None  # pages are not counted
    _submit(store, user, pixels=250)
    identity = Identity(user, "analyst", ("hydrology",), via="key", key_id="k1")
    document = limits_document(
        identity, QUOTAS, limiter.usage(user), job_usage(store.engine, user), FAMILIES,
        server_limits=Limits(max_job_pixels=5000, concurrent_renders=2),
    )  # fmt: skip
    assert document["caller"] == {
        "user": user, "role": "analyst", "groups": ["hydrology"], "via": "key",
        "signed_in": True, "key_id": "k1",
    }  # fmt: skip
    rates = document["requests_per_minute"]
    assert rates["window_s"] == 60 and set(rates["families"]) == set(FAMILIES)
    assert rates["families"]["tiles"] == {"limit": 3, "used": 2, "remaining": 1}
    assert rates["families"]["stac"] == {"limit": 10, "used": 1, "remaining": 9}
    assert rates["families"]["meta"] == {"limit": None, "used": 0, "remaining": None}
    assert rates["families"]["edr"] == {"limit": 10, "used": 0, "remaining": 10}
    jobs = document["jobs"]
    assert jobs["concurrent_jobs"] == {"limit": 2, "used": 1, "remaining": 1}
    assert jobs["job_pixels_per_day"] == {
        "limit": 1000, "used": 250, "remaining": 750, "window_s": DAY_S,
    }  # fmt: skip
    assert jobs["max_job_area_km2"] == {"limit": 100.0}
    assert document["server"]["max_job_pixels"] == 5000
    assert json.loads(json.dumps(document)) == document


def test_unlimited_quotas_in_the_document_are_null():
    document = limits_document(
        Identity("anonymous", "anonymous"), Quotas(), {}, JobUsage(0, 0), ("tiles",)
    )
    assert document["requests_per_minute"]["families"]["tiles"] == {
        "limit": None, "used": 0, "remaining": None,
    }  # fmt: skip
    assert document["jobs"]["concurrent_jobs"]["remaining"] is None
    assert "server" not in document


def test_a_hit_is_one_statement(engines, user):
    engine = engines()
    limiter = RateLimiter(engine, clock=Clock(WINDOW_START))
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    limiter.hit(user, "tiles", 5)
    assert len(statements) == 1
    assert "DELETE" in statements[0] and "ON CONFLICT" in statements[0]


def test_workers_hitting_at_once_never_pass_more_than_the_limit(engines, user):
    clock = Clock(WINDOW_START + 5)
    limiters = [RateLimiter(engines(), clock=clock) for _ in range(4)]

    def hit(i: int) -> bool:
        try:
            limiters[i % 4].hit(user, "coverages", 10)
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        passed = list(pool.map(hit, range(40)))
    assert sum(passed) == 10


def test_two_workers_admitting_at_once_fill_the_last_slot_once(engines, user):
    """The per-owner lock of JobStore.add: of two submissions racing for the last concurrent slot,
    one is refused."""
    stores = [JobStore(engines()) for _ in range(2)]
    _submit(stores[0], user)
    barrier = threading.Barrier(2)

    def submit(store: JobStore) -> str:
        barrier.wait()
        try:
            _submit(store, user)
        except QuotaExceeded as exc:
            return exc.limit
        return "admitted"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(submit, stores))
    assert outcomes == ["admitted", "concurrent_jobs"]
