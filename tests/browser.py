"""A real browser for the web tests: Debian's Chromium driven by Playwright (never a downloaded
browser), with every request it makes recorded so that tests can assert none left the machine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
"""Screenshots and report pages the test run keeps (not committed)."""


@dataclass
class Browsing:
    page: Page
    requests: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Every request to a host other than this machine (data: and blob: URLs are local)."""
        return [url for url in self.requests
                if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                and urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1")]  # fmt: skip

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@contextmanager
def browsing(width: int = 1280, height: int = 800) -> Iterator[Browsing]:
    """A fresh page of a headless Chromium; requests that would leave the machine are recorded and
    then aborted, so a test fails on them rather than waiting for a network that is not there."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            browsed = Browsing(page)

            def record(route, request) -> None:  # type: ignore[no-untyped-def]
                browsed.requests.append(request.url)
                host = urlsplit(request.url).hostname
                if urlsplit(request.url).scheme in ("http", "https") and host not in (
                    "127.0.0.1",
                    "localhost",
                    "::1",
                ):
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", record)
            yield browsed
        finally:
            browser.close()
