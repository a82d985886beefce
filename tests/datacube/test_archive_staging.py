"""Dataset folders are built outside the archive; what a killed writer left is removed next time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sdgcube.datacube.archive import staging_dir
from sdgcube.datacube.cube import Cube
from sdgcube.datacube.ingest import ingest_file


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_next_ingest_removes_what_killed_writers_left(empty_cube: Cube, make_raster) -> None:
    archive = empty_cube.settings.archive_dir
    staged = staging_dir(archive)
    host = socket.gethostname()
    killed = staged / f"{host}.{_dead_pid()}.6f1c2a7e-0000-4000-8000-000000000001"
    running = staged / f"{host}.{os.getppid()}.6f1c2a7e-0000-4000-8000-000000000002"
    elsewhere = staged / f"other-host.example.{_dead_pid()}.6f1c2a7e-0000-4000-8000-000000000003"
    legacy = archive / "old_product" / "2020" / ".6f1c2a7e-0000-4000-8000-000000000004.tmp"
    for folder in (killed, running, elsewhere, legacy):
        folder.mkdir(parents=True)
        (folder / "half.tif").write_bytes(b"partial")

    path = make_raster(np.ones((10, 10), dtype="uint8"))
    result = ingest_file(
        empty_cube.dc, archive, path, product="after_crash", when=datetime(2021, 1, 1)
    )

    assert not killed.exists() and not legacy.exists()
    assert running.exists(), "a live writer's folder was removed"
    assert elsewhere.exists(), "another host's writer cannot be judged from here"
    assert result.item_path.is_relative_to(archive) and result.item_path.exists()
    hidden = list(archive.rglob(".*"))
    assert hidden == [], f"hidden folders in the archive: {hidden}"
    assert sorted(p.name for p in staged.iterdir()) == sorted([running.name, elsewhere.name])


def test_a_failing_writer_leaves_nothing_in_the_archive_or_staging(tmp_path: Path) -> None:
    from sdgcube.datacube.archive import write_dataset

    archive = tmp_path / "archive"

    def fail(folder: Path):
        (folder / "a.tif").write_bytes(b"x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_dataset(archive, product="p", when=datetime(2020, 1, 1),
                      dataset_id="6f1c2a7e-0000-4000-8000-000000000009", write_assets=fail)  # fmt: skip
    assert list(staging_dir(archive).iterdir()) == []
    assert not (archive / "p" / "2020").exists() or not any((archive / "p" / "2020").iterdir())
