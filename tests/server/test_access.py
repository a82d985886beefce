"""Many users on one server: a real ``sdgcube serve`` (two web workers) with API keys and OpenID
Connect on, a policy file, keys made with the real CLI and tokens from a local issuer.

Every route family is tried with an identity the policy allows and one it refuses; jobs and their
results are their owner's; quotas and rate limits trip at the configured numbers with 429; a
revoked key and an ended session stop working at once."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sdgcube.settings import Settings
from tests.oidc_issuer import LocalIssuer
from tests.server.conftest import SDGCUBE, Server, free_port

pytestmark = pytest.mark.slow

POLICY = """
anonymous_role: anonymous
roles:
  anonymous: {read: []}
  public:
    read: ["land_cover", "sr_*"]
  trainee:
    read: ["*"]
    execute: ["*"]
    quotas: {concurrent_jobs: 0}
  frugal:
    read: ["*"]
    execute: ["*"]
    quotas: {job_pixels_per_day: 60000}
  local:
    read: ["*"]
    execute: ["*"]
    quotas: {max_job_area_km2: 0.01}
  analyst:
    read: ["*"]
    execute: ["band-math"]
    quotas: {concurrent_jobs: 4}
  admin: {read: ["*"], execute: ["*"], admin: true}
users:
  ratey: {quotas: {requests_per_minute: {collections: 5}}}
"""
NDVI = "(nir08 - red) / (nir08 + red)"
AUDIENCE = "sdgcube-tests"


@dataclass
class Keyed:
    server: Server
    keys: dict[str, str]
    issuer: LocalIssuer

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SDGCUBE, *args], check=False, env=self.server.environment(), capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    def client(self, user: str | None) -> httpx.Client:
        headers = {"X-API-Key": self.keys[user]} if user else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=120)


def _add_user(keyed: Keyed, name: str, role: str, *groups: str) -> None:
    args = [arg for group in groups for arg in ("--group", group)]
    assert keyed.cli("users", "add", name, "--role", role, *args).returncode == 0
    made = keyed.cli("keys", "create", "--user", name, "--name", f"{name}'s key", "--json")
    assert made.returncode == 0, made.stderr
    keyed.keys[name] = json.loads(made.stdout)["token"]


@pytest.fixture(scope="module")
def keyed(make_settings: Callable[[str], Settings], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:  # fmt: skip
    settings = make_settings("embedded")
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    policy.write_text(POLICY)
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(settings.data_dir)}
    subprocess.run([SDGCUBE, "demo-data", "--size", "small", "--seed", "7"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    with LocalIssuer(audience=AUDIENCE, roles_claim="roles") as issuer:
        port = free_port()
        server = Server(url=f"http://127.0.0.1:{port}", port=port, settings=settings, env={
            "SDGCUBE_AUTH__MODE": "keys,oidc", "SDGCUBE_AUTH__POLICY_FILE": str(policy),
            "SDGCUBE_AUTH__OIDC__ISSUER": issuer.url, "SDGCUBE_AUTH__OIDC__AUDIENCE": AUDIENCE,
            "SDGCUBE_AUTH__OIDC__CLIENT_ID": issuer.client_id,
        })  # fmt: skip
        keyed = Keyed(server, {}, issuer)
        for name, role, groups in [("pia", "public", ()), ("ana", "analyst", ("water",)),
                                   ("ben", "analyst", ()), ("wil", "analyst", ("water",)),
                                   ("tia", "trainee", ()), ("fru", "frugal", ()), ("loc", "local", ()),
                                   ("adm", "admin", ()), ("ratey", "public", ())]:  # fmt: skip
            _add_user(keyed, name, role, *groups)
        server.start(workers=2)
        try:
            yield keyed
        finally:
            server.stop()


def _ogc_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert body["code"] and body["description"]
    return body


PROTECTED = [
    "/collections", "/collections/land_cover", "/collections/land_cover/coverage?bbox=0,0,1,1",
    "/collections/population/position?coords=POINT(0 0)", "/collections/admin_units/items",
    "/tiles/collections/land_cover/WebMercatorQuad/tilejson.json", "/mapproxy/service?SERVICE=WMS&REQUEST=GetMap&LAYERS=land_cover",
    "/stac", "/processes", "/jobs",
]  # fmt: skip


@pytest.mark.parametrize("path", PROTECTED)
def test_no_credentials_is_401_with_an_exception(keyed: Keyed, path: str) -> None:
    with keyed.client(None) as http:
        response = http.get(path)
    _ogc_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_landing_page_and_api_document_stay_open(keyed: Keyed) -> None:
    with keyed.client(None) as http:
        landing = http.get("/", params={"f": "json"})
        assert landing.status_code == 200
        assert any(link["href"].endswith("/limits") for link in landing.json()["links"])
        assert http.get("/openapi", params={"f": "json"}).status_code == 200
        assert http.get("/conformance", params={"f": "json"}).status_code == 200


def test_a_public_key_reads_only_what_the_policy_allows(keyed: Keyed) -> None:
    with keyed.client("pia") as http:
        listed = {
            c["id"] for c in http.get("/collections", params={"f": "json"}).json()["collections"]
        }
        assert "land_cover" in listed and "sr_annual" in listed
        assert "population" not in listed
        assert http.get("/collections/land_cover", params={"f": "json"}).status_code == 200
        assert (
            http.get("/tiles/collections/land_cover/WebMercatorQuad/tilejson.json").status_code
            == 200
        )
        _ogc_error(http.get("/collections/population", params={"f": "json"}), 403)
        _ogc_error(
            http.get("/collections/population/position", params={"coords": "POINT(0 0)"}), 403
        )
        _ogc_error(http.get("/tiles/collections/population/WebMercatorQuad/tilejson.json"), 403)
        _ogc_error(http.get("/collections/population/coverage", params={"f": "json"}), 403)
        _ogc_error(http.get("/collections/admin_units/items", params={"f": "json"}), 403)
        _ogc_error(http.get("/stac/archive/population"), 403)
        wms = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "population"}
        _ogc_error(http.get("/mapproxy/service", params=wms), 403)
        _ogc_error(
            http.post("/processes/band-math/execution", json={"inputs": {"expression": NDVI}}), 403
        )


def test_an_api_key_in_the_query_works_for_tiles_only(keyed: Keyed) -> None:
    with keyed.client(None) as http:
        key = keyed.keys["pia"]
        assert (
            http.get(
                "/tiles/collections/land_cover/WebMercatorQuad/tilejson.json",
                params={"api_key": key},
            ).status_code
            == 200
        )
        _ogc_error(http.get("/collections/land_cover", params={"api_key": key, "f": "json"}), 401)


def _run_job(http: httpx.Client, keyed: Keyed) -> dict:
    response = http.post("/processes/band-math/execution",
                         json={"inputs": {"expression": NDVI, "datetime": "2020"}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    status: dict = {}

    def finished() -> bool:
        status.update(http.get(f"/jobs/{job_id}", params={"f": "json"}).json())
        return status["status"] in ("successful", "failed", "dismissed")

    keyed.server.wait_for(finished, what=f"job {job_id}")
    assert status["status"] == "successful", status
    results = http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()
    return {"id": job_id, "collection": results["collection"]}


@pytest.fixture(scope="module")
def anas_job(keyed: Keyed) -> dict:
    with keyed.client("ana") as http:
        return _run_job(http, keyed)


def test_a_job_and_its_results_are_its_owners(keyed: Keyed, anas_job: dict) -> None:
    job, product = anas_job["id"], anas_job["collection"]
    with keyed.client("ana") as ana:
        assert job in {j["jobID"] for j in ana.get("/jobs").json()["jobs"]}
        assert ana.get(f"/collections/{product}", params={"f": "json"}).status_code == 200
        assert f"/jobs/{job}" in ana.get("/jobs", params={"f": "html"}).text
    with keyed.client("ben") as ben:
        assert job not in {j["jobID"] for j in ben.get("/jobs").json()["jobs"]}
        page = ben.get("/jobs", params={"f": "html"})
        assert page.headers["content-type"].startswith("text/html") and job not in page.text
        for path in (
            f"/jobs/{job}",
            f"/jobs/{job}/results",
            f"/collections/{product}",
            f"/tiles/collections/{product}/WebMercatorQuad/tilejson.json",
        ):
            _ogc_error(ben.get(path, params={"f": "json"}), 404)
        _ogc_error(ben.delete(f"/jobs/{job}"), 404)
        listed = {
            c["id"] for c in ben.get("/collections", params={"f": "json"}).json()["collections"]
        }
        assert product not in listed
    with keyed.client("adm") as adm:
        assert job in {j["jobID"] for j in adm.get("/jobs", params={"limit": 1000}).json()["jobs"]}
        assert adm.get(f"/collections/{product}", params={"f": "json"}).status_code == 200


def test_a_shared_result_is_seen_by_the_group_then_everyone(keyed: Keyed, anas_job: dict) -> None:
    job, product = anas_job["id"], anas_job["collection"]
    with keyed.client("ben") as ben:
        _ogc_error(ben.post(f"/jobs/{job}/sharing", json={"public": True}), 404)
    with keyed.client("ana") as ana:
        assert ana.post(f"/jobs/{job}/sharing", json={"groups": ["water"]}).status_code == 200
    with keyed.client("wil") as wil, keyed.client("ben") as ben:
        assert wil.get(f"/collections/{product}", params={"f": "json"}).status_code == 200
        _ogc_error(wil.delete(f"/jobs/{job}"), 403)
        _ogc_error(ben.get(f"/collections/{product}", params={"f": "json"}), 404)
    with keyed.client("ana") as ana:
        assert ana.post(f"/jobs/{job}/sharing", json={"public": True}).status_code == 200
    with keyed.client("ben") as ben:
        assert ben.get(f"/collections/{product}", params={"f": "json"}).status_code == 200


def test_the_concurrent_job_quota_is_429_with_retry_after(keyed: Keyed) -> None:
    with keyed.client("tia") as http:
        response = http.post("/processes/band-math/execution",
                             json={"inputs": {"expression": NDVI, "datetime": "2020"}},
                             headers={"Prefer": "respond-async"})  # fmt: skip
        body = _ogc_error(response, 429)
        assert body["limit"] == "concurrent_jobs"
        assert int(response.headers["Retry-After"]) > 0
        assert http.get("/jobs").json()["jobs"] == []


def test_the_daily_pixel_quota_trips_on_the_job_past_it(keyed: Keyed) -> None:
    """One band-math year of the small demo reads 40,000 values: the second passes 60,000."""
    with keyed.client("fru") as http:
        _run_job(http, keyed)
        response = http.post("/processes/band-math/execution",
                             json={"inputs": {"expression": NDVI, "datetime": "2020"}},
                             headers={"Prefer": "respond-async"})  # fmt: skip
        body = _ogc_error(response, 429)
        assert body["limit"] == "job_pixels_per_day"
        assert 0 < int(response.headers["Retry-After"]) <= 86400
        assert len(http.get("/jobs").json()["jobs"]) == 1


def test_a_job_over_the_roles_area_is_forbidden(keyed: Keyed) -> None:
    with keyed.client("loc") as http:
        response = http.post("/processes/band-math/execution",
                             json={"inputs": {"expression": NDVI, "datetime": "2020"}},
                             headers={"Prefer": "respond-async"})  # fmt: skip
        assert "max_job_area_km2" in _ogc_error(response, 403)["description"]
        assert http.get("/jobs").json()["jobs"] == []


def test_an_analyst_reads_every_family(keyed: Keyed) -> None:
    with keyed.client("ben") as http:
        collection = http.get("/collections/population", params={"f": "json"}).json()
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        point = f"POINT({(west + east) / 2} {(south + north) / 2})"
        for path in (f"/collections/population/position?coords={point}", "/collections/admin_units/items?f=json",
                     "/stac/archive/population", "/collections/population/coverage/domainset?f=json",
                     "/tiles/collections/population/WebMercatorQuad/tilejson.json", "/processes/band-math?f=json",
                     "/mapproxy/service?SERVICE=WMS&REQUEST=GetCapabilities"):  # fmt: skip
            assert http.get(path).status_code == 200, path


def test_the_rate_limit_is_shared_by_the_web_workers(keyed: Keyed) -> None:
    answers = []
    for _ in range(6):  # a new connection each time: the two workers take turns accepting
        with keyed.client("ratey") as http:
            answers.append(http.get("/collections/land_cover", params={"f": "json"}))
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [int(r.headers["RateLimit-Remaining"]) for r in answers[:5]] == [4, 3, 2, 1, 0]
    assert answers[0].headers["RateLimit-Limit"] == "5"
    assert 0 < int(answers[5].headers["Retry-After"]) <= 60
    assert answers[5].json()["limit"] == "requests_per_minute.collections"


def test_limits_tell_each_caller_their_own(keyed: Keyed, anas_job: dict) -> None:
    with keyed.client("ana") as http:
        document = http.get("/limits").json()
    assert json.dumps(document).count("ana") >= 1
    assert "concurrent_jobs" in json.dumps(document)


def test_revoking_a_key_takes_effect_at_once(keyed: Keyed) -> None:
    _add_user(keyed, "rex", "public")
    with keyed.client("rex") as http:
        assert http.get("/collections/land_cover", params={"f": "json"}).status_code == 200
        listed = json.loads(keyed.cli("keys", "list", "--user", "rex", "--json").stdout)
        assert keyed.cli("keys", "revoke", listed[0]["id"]).returncode == 0
        body = _ogc_error(http.get("/collections/land_cover", params={"f": "json"}), 401)
        assert "revoked" in body["description"]


def test_oidc_tokens_valid_and_not(keyed: Keyed) -> None:
    issuer = keyed.issuer
    good = issuer.token(sub="olga", roles=["public"], audience=AUDIENCE)
    with httpx.Client(base_url=keyed.server.url, timeout=60) as http:

        def get(token: str) -> httpx.Response:
            return http.get("/collections/land_cover", params={"f": "json"},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip

        assert get(good).status_code == 200
        _ogc_error(
            get(issuer.token(sub="olga", roles=["public"], audience=AUDIENCE, expires_in=-300)), 401
        )
        _ogc_error(get(issuer.token(sub="olga", roles=["public"], audience="another-service")), 401)
        _ogc_error(
            get(issuer.token(sub="olga", roles=["public"], audience=AUDIENCE, signed_by="other")),
            401,
        )
        _ogc_error(get("not-a-token"), 401)


def test_a_browser_session_needs_its_csrf_token_and_ends_on_logout(keyed: Keyed) -> None:
    with httpx.Client(base_url=keyed.server.url, timeout=120) as browser:
        login = browser.post("/auth/login", json={"api_key": keyed.keys["ana"]})
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        csrf = login.json()["csrf_token"]
        assert browser.get("/jobs").status_code == 200
        body = {"inputs": {"expression": NDVI, "datetime": "2020"}}
        _ogc_error(browser.post("/processes/band-math/execution", json=body), 403)
        ok = browser.post("/processes/band-math/execution", json=body,
                          headers={"X-CSRF-Token": csrf, "Prefer": "respond-async"})  # fmt: skip
        assert ok.status_code == 201, ok.text
        assert browser.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert browser.cookies.get("sdgcube_session") is None
    with httpx.Client(base_url=keyed.server.url, cookies=login.cookies, timeout=60) as replay:
        _ogc_error(replay.get("/jobs"), 401)


def test_a_browser_signs_in_through_the_issuer_with_pkce(keyed: Keyed) -> None:
    keyed.issuer.next_login = {"sub": "oona", "roles": ["analyst"], "groups": ["water"]}
    with httpx.Client(base_url=keyed.server.url, timeout=60, follow_redirects=True) as browser:
        landed = browser.get("/auth/oidc/login", params={"next": "/jobs?f=json"})
        assert landed.status_code == 200, landed.text
        assert str(landed.url).endswith("/jobs?f=json") and landed.json()["jobs"] == []
        session = browser.get("/auth/session").json()
        assert (session["user"], session["role"], session["groups"]) == (
            "oona",
            "analyst",
            ["water"],
        )
    with httpx.Client(base_url=keyed.server.url, timeout=60) as stranger:
        callback = stranger.get("/auth/oidc/callback", params={"code": "stolen", "state": "x"})
        _ogc_error(callback, 401)


def test_the_audit_log_names_who_did_what(keyed: Keyed, anas_job: dict) -> None:
    with keyed.client(None) as http:
        http.get("/collections")
    result = keyed.cli("audit", "--limit", "500", "--json")
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    actions = {(e["action"], e["user"]) for e in events}
    assert ("job.submit", "ana") in actions and (
        "key.create",
        next(iter({e["user"] for e in events if e["action"] == "key.create"})),
    ) in actions
    assert any(e["action"] == "request.denied" for e in events)
    assert not any(token in result.stdout for token in keyed.keys.values())
    with keyed.client("adm") as admin, keyed.client("ana") as ana:
        served = admin.get("/audit", params={"action": "job.submit", "limit": 50}).json()["events"]
        assert served and {e["action"] for e in served} == {"job.submit"}
        _ogc_error(ana.get("/audit"), 403)


def test_a_bad_policy_file_stops_serve_with_one_line(keyed: Keyed, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles: {public: {read: 3}}\n")
    env = {**keyed.server.environment(), "SDGCUBE_AUTH__POLICY_FILE": str(bad)}
    result = subprocess.run([SDGCUBE, "serve", "--port", str(free_port())], check=False, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "policy" in result.stderr


FUZZ_EXAMPLES = 3
"""Fewer than the open server's run: the same document, a second and third time over."""


@pytest.mark.parametrize("via", ["key", "token"])
def test_no_operation_answers_a_server_error_when_signed_in(keyed: Keyed, via: str) -> None:
    from tests.server.test_fuzz import server_errors

    token = (
        keyed.keys["ana"]
        if via == "key"
        else keyed.issuer.token(sub="olga", roles=["analyst"], audience=AUDIENCE, expires_in=3600)
    )
    errors = server_errors(keyed.server, {"Authorization": f"Bearer {token}"}, FUZZ_EXAMPLES)
    assert errors == {}, keyed.server.log()[-3000:]
