"""What several benchmarks share: best-of-N timing and a demo archive made by the real command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs of ``fn`` in seconds, and its (last) result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def demo_data_dir(data_dir: Path | None, size: str) -> Path:
    """``data_dir`` (a temporary one if None) holding a demo archive of ``size``, made if missing."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="sdgcube-bench-"))
    if not (data_dir / "demo" / "truth.json").exists():
        start = time.perf_counter()
        subprocess.run([SDGCUBE, "demo-data", "--size", size], check=True, capture_output=True,
                       env={**os.environ, "SDGCUBE_DATA_DIR": str(data_dir)})  # fmt: skip
        print(f"demo archive ({size}) in {time.perf_counter() - start:.0f} s at {data_dir}")
    return data_dir
