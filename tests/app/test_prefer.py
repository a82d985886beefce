"""RFC 7240 ``Prefer``: which headers ask for async execution, and the middleware that reduces the
header to the one token pygeoapi compares against."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sdgcube.app.prefer import PreferMiddleware, wants_async


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("respond-async", True),
        ("respond-async, wait=10", True),
        ("wait=10, respond-async", True),
        ("wait=10,respond-async", True),
        ("RESPOND-ASYNC", True),
        ("Respond-Async", True),
        ("respond-async;foo=bar", True),
        ("  respond-async  ;  foo=bar , wait=3", True),
        ("return=minimal, respond-async", True),
        ("wait=5", False),
        ("return=minimal", False),
        ("return=representation, wait=100", False),
        ("", False),
        ("respond-asynchronously", False),
        ("foo=respond-async", False),
        ("x-respond-async", False),
    ],
)
def test_wants_async(header, expected):
    assert wants_async(header) is expected


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({
        "prefer": request.headers.getlist("prefer"),
        "other": request.headers.get("x-other"),
        "body": (await request.body()).decode(),
    })  # fmt: skip


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = Starlette(routes=[Route("/echo", _echo, methods=["GET", "POST"])])
    app.add_middleware(PreferMiddleware)
    return TestClient(app)


@pytest.mark.parametrize(
    ("headers", "seen"),
    [
        ([("Prefer", "respond-async")], ["respond-async"]),
        ([("Prefer", "respond-async, wait=10")], ["respond-async"]),
        ([("Prefer", "wait=10, respond-async")], ["respond-async"]),
        ([("Prefer", "RESPOND-ASYNC;foo=bar")], ["respond-async"]),
        ([("Prefer", "wait=5")], ["wait"]),
        ([("Prefer", "return=minimal")], ["wait"]),
        # several Prefer headers are one list (RFC 7230 §3.2.2)
        ([("Prefer", "wait=10"), ("Prefer", "respond-async")], ["respond-async"]),
        ([("Prefer", "wait=10"), ("Prefer", "return=minimal")], ["wait"]),
        ([], []),
    ],
)
def test_post_sees_one_token(client, headers, seen):
    response = client.post(
        "/echo", headers=[*headers, ("X-Other", "kept")], content=b'{"inputs": {}}'
    )
    assert response.status_code == 200
    assert response.json() == {"prefer": seen, "other": "kept", "body": '{"inputs": {}}'}


@pytest.mark.parametrize("value", ["respond-async, wait=10", "wait=5"])
def test_get_is_left_alone(client, value):
    response = client.get("/echo", headers={"Prefer": value, "X-Other": "kept"})
    assert response.json()["prefer"] == [value]
    assert response.json()["other"] == "kept"
