"""The web tests drive the app against the same live demo server as the server tests."""

from __future__ import annotations

from tests.server.conftest import http, served_demo, server  # noqa: F401
