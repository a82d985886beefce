"""Settings: environment prefix, YAML file, nested limits, masking and clear validation errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sdgcube.settings import Settings, masked_config


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for var in ("SDGCUBE_DATA_DIR", "SDGCUBE_DB_URL", "SDGCUBE_CONFIG", "SDGCUBE_DASK_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_embedded_and_per_user():
    settings = Settings()
    assert settings.db_url is None
    assert settings.data_dir.is_absolute() and "sdgcube" in settings.data_dir.parts
    assert settings.port == 5000 and settings.limits.max_pixels == 25_000_000


def test_environment_overrides_yaml(monkeypatch, tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text(
        "port: 6001\ndask_address: tcp://sched:8786\nlimits:\n  max_job_area_km2: 12.5\n"
    )
    monkeypatch.setenv("SDGCUBE_CONFIG", str(config))
    monkeypatch.setenv("SDGCUBE_PORT", "7000")
    monkeypatch.setenv("SDGCUBE_LIMITS__MAX_PIXELS", "1000")
    settings = Settings()
    assert settings.port == 7000
    assert settings.dask_address == "tcp://sched:8786"
    assert settings.limits.max_job_area_km2 == 12.5 and settings.limits.max_pixels == 1000


def test_local_sdgcube_yaml_is_read(tmp_path):
    (tmp_path / "sdgcube.yaml").write_text(f"data_dir: {tmp_path / 'here'}\n")
    assert Settings().data_dir == tmp_path / "here"


def test_masked_config_hides_the_password():
    settings = Settings(db_url="postgresql://odc:s3cret@db.example:5432/cube")
    shown = json.dumps(masked_config(settings))
    assert "s3cret" not in shown and "odc:***@db.example:5432/cube" in shown


@pytest.mark.parametrize(
    ("field", "value"), [("port", 0), ("limits", {"max_pixels": -1}), ("unknown", 1)]
)
def test_invalid_values_are_rejected(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_cli_config_prints_masked_json_and_rejects_bad_env(tmp_path):
    env = {"PATH": "", "SDGCUBE_DATA_DIR": str(tmp_path), "SDGCUBE_DB_URL": "postgresql://a:pw@h/d"}
    cmd = [sys.executable, "-m", "sdgcube.cli", "config"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    assert data["db_url"] == "postgresql://a:***@h/d" and Path(data["data_dir"]) == tmp_path
    bad = subprocess.run(
        cmd, env={**env, "SDGCUBE_PORT": "nope"}, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "port" in bad.stderr
