"""``sdgcube demo-data`` (like ``make install``) compiles the kernels ahead: the first job after it,
in a fresh process, loads every kernel from numba's cache and compiles none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))


def test_the_first_job_after_demo_data_compiles_no_kernel(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDGCUBE_", "NUMBA_"))}
    env |= {"SDGCUBE_DATA_DIR": str(tmp_path / "data"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    demo = subprocess.run([SDGCUBE, "demo-data", "--size", "small"], env=env, capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    job = subprocess.run([SDGCUBE, "run", "sdg-15-3-1"], env={**env, "NUMBA_DEBUG_CACHE": "1"},
                         capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert job.returncode == 0, job.stderr
    compiled = [line for line in job.stdout.splitlines() if line.startswith("[cache] data saved")]
    assert compiled == []
    assert "[cache] data loaded from" in job.stdout
