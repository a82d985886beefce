"""Hostile or malformed client input answers a 4xx OGC exception, never a 500 (issue 12)."""

from __future__ import annotations

import httpx
import pytest

EXECUTE = "/processes/band-math/execution"
ITEMS = "/collections/admin_units/items"
JSON = {"Content-Type": "application/json"}

CASES = [
    # (method, path, headers, body, expected status)
    ("GET", "/collections/sr%00annual/coverage", {}, None, 404),
    ("GET", "/jobs/abc%00def", {}, None, 404),
    ("GET", f"{ITEMS}/D1%00", {}, None, 404),
    ("GET", "/jobs/" + "a" * 256, {}, None, 404),
    ("POST", EXECUTE, JSON, b"[1,2,3]", 400),
    ("POST", EXECUTE, JSON, b'"x"', 400),
    ("POST", EXECUTE, JSON, b"42", 400),
    ("POST", EXECUTE, JSON, b"null", 400),
    ("POST", EXECUTE, JSON, b"[" * 10_000 + b"]" * 10_000, 400),
    ("POST", EXECUTE, JSON, b'{"inputs": {"expression": "\xff"}}', 400),
    ("POST", EXECUTE, JSON, b"{" * 1, 400),
    ("POST", EXECUTE, JSON, b'{"inputs": {"expression": "red"}, "subscriber": "x"}', 400),
    (
        "POST",
        EXECUTE,
        {**JSON, "Prefer": "respond-async"},
        b'{"inputs": true, "subscriber": [[null]]}',
        400,
    ),
    ("POST", EXECUTE, JSON, b"\0" * 10_000_001, 413),
    ("POST", EXECUTE, {"Content-Type": "text/plain"}, b'{"inputs": {"expression": "red"}}', 415),
    ("POST", ITEMS, {}, b'{"type": "Feature"}', 415),
    ("DELETE", "/jobs", {}, None, 405),
    ("PUT", "/collections/sr_annual/coverage", JSON, b"{}", 405),
    ("GET", f"{ITEMS}?offset=1000000000000000000000000000000&f=json", {}, None, 400),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), CASES,
                         ids=[f"{c[0]} {c[1][:50]} {(c[3] or b'')[:12]!r}" for c in CASES])  # fmt: skip
def test_bad_input_answers_an_ogc_client_error(
    http: httpx.Client, method: str, path: str, headers: dict, body: bytes | None, status: int
) -> None:
    response = http.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text[:500]
    document = response.json()
    assert set(document) == {"code", "type", "description"}, document
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_a_dismissed_job_has_no_results(http: httpx.Client) -> None:
    response = http.post(EXECUTE, json={"inputs": {"expression": "red", "datetime": "2004"}},
                         headers={"Prefer": "respond-async"})  # fmt: skip
    job_id = response.json()["jobID"]
    assert http.delete(f"/jobs/{job_id}").status_code == 200
    results = http.get(f"/jobs/{job_id}/results", params={"f": "json"})
    assert results.status_code == 404, results.text[:500]
    assert results.json()["code"] == "NoSuchJob"


def test_a_cross_site_text_plain_post_starts_no_job(http: httpx.Client) -> None:
    before = http.get("/jobs", params={"f": "json", "limit": 1}).json()["numberMatched"]
    http.post(EXECUTE, content=b'{"inputs": {"expression": "red"}}',
              headers={"Content-Type": "text/plain", "Prefer": "respond-async"})  # fmt: skip
    assert http.get("/jobs", params={"f": "json", "limit": 1}).json()["numberMatched"] == before
