"""The request guard: body caps apply to streamed bodies too, the endpoint sees the body, and an
execute request is an object whose subscriber is one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sdgcube.app.guard import RequestGuard
from sdgcube.settings import Settings


def _client(tmp_path: Path) -> TestClient:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    settings = Settings(data_dir=tmp_path, max_body_bytes=100, max_json_depth=3)
    app = Starlette(routes=[Route("/processes/p/execution", echo, methods=["POST"])],
                    middleware=[Middleware(RequestGuard, settings=settings)])  # fmt: skip
    return TestClient(app)


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"a": "'
    yield b"x" * total
    yield b'"}'


def test_a_streamed_body_over_the_cap_is_413(tmp_path: Path) -> None:
    response = _client(tmp_path).post("/processes/p/execution", content=_chunks(200),
                                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


def test_a_body_within_the_caps_reaches_the_endpoint(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.post("/processes/p/execution", json={"a": [1]}).json() == {"a": [1]}
    deep = client.post("/processes/p/execution", json={"a": [[1]]})
    assert deep.status_code == 400 and "deeper than 3" in deep.json()["description"]


@pytest.mark.parametrize("subscriber", ["x", [1], 5, True])
def test_an_execute_request_whose_subscriber_is_not_an_object_is_400(
    tmp_path: Path, subscriber: object
) -> None:
    body = {"inputs": {}, "subscriber": subscriber}
    response = _client(tmp_path).post("/processes/p/execution", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"
    assert "subscriber must be a JSON object" in response.json()["description"]


def test_an_execute_request_with_a_subscriber_object_passes(tmp_path: Path) -> None:
    body = {"subscriber": {"successUri": "http://a"}}
    assert _client(tmp_path).post("/processes/p/execution", json=body).json() == body
