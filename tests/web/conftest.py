"""The web tests browse the session's demo server (tests/server/conftest.py)."""

from __future__ import annotations

from tests.server.conftest import http, served_demo, server  # noqa: F401
