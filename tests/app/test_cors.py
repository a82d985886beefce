"""CORS lets other origins read, never write (issue 12, browser safety)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sdgcube.app.server import cors_middleware
from sdgcube.settings import Settings


def _client(tmp_path: Path) -> TestClient:
    app = Starlette(
        routes=[Route("/jobs", lambda r: PlainTextResponse("ok"), methods=["GET", "POST"])],
        middleware=[cors_middleware(Settings(data_dir=tmp_path))],
    )
    return TestClient(app)


def test_preflight_for_post_is_refused(tmp_path: Path) -> None:
    response = _client(tmp_path).options(
        "/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "POST" not in response.headers.get("access-control-allow-methods", "")


def test_get_is_readable_cross_origin(tmp_path: Path) -> None:
    response = _client(tmp_path).get("/jobs", headers={"Origin": "https://maps.example"})
    assert response.headers["access-control-allow-origin"] == "*"
