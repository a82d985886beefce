"""A real ``sdgcube serve`` (uvicorn, Dask, embedded PostgreSQL) on a free loopback port, over the
small demo archive; tests talk to it over HTTP only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.settings import Settings

SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))
MAX_PIXELS = 2_000_000
"""Low enough that a whole-archive coverage request of the small demo is over the limit."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    settings: Settings
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    """More environment for the server, e.g. ``SDGCUBE_DASK_ADDRESS`` of an outside cluster."""

    def environment(self) -> dict[str, str]:
        """The environment ``sdgcube`` commands of this installation run with (the settings' data
        folder and index, no Dask address unless ``env`` gives one)."""
        env = {**os.environ, "SDGCUBE_DATA_DIR": str(self.settings.data_dir), "SDGCUBE_WATCH_INTERVAL_S": "0.5",
               "SDGCUBE_LIMITS__MAX_PIXELS": str(MAX_PIXELS)}  # fmt: skip
        env.pop("SDGCUBE_DASK_ADDRESS", None)
        if self.settings.db_url is not None:
            env["SDGCUBE_DB_URL"] = self.settings.db_url.get_secret_value()
        return {**env, **self.env}

    def start(self, *, workers: int = 1, timeout: float = 180.0) -> None:
        log = (self.settings.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [SDGCUBE, "serve", "--port", str(self.port), "--workers", str(workers), "--dask-workers", "1"],
            env=self.environment(), stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/?f=json", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"server did not answer in {timeout:.0f} s: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def log(self) -> str:
        return (self.settings.data_dir / "server.log").read_text(errors="replace")

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 120.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def served_demo(make_settings: Callable[[str], Settings]) -> Iterator[tuple[Server, Cube, dict]]:
    """The small demo archive served by a real uvicorn; the Cube opens the same index."""
    settings = make_settings("embedded")
    # The demo is made by the real command, in its own process, as a user would make it.
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(settings.data_dir)}
    subprocess.run([SDGCUBE, "demo-data", "--size", "small", "--seed", "7"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    truth = json.loads((settings.data_dir / "demo" / "truth.json").read_text())
    port = free_port()
    server = Server(url=f"http://127.0.0.1:{port}", port=port, settings=settings)
    server.start()
    try:
        with open_cube(settings) as cube:
            yield server, cube, truth
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server(served_demo: tuple[Server, Cube, dict]) -> Server:
    return served_demo[0]


@pytest.fixture(scope="session")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client
