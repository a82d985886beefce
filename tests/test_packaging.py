"""A plain, non-editable install carries the pygeoapi and MapProxy templates of ``ogc_config/`` and
the shipped segmentation model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ("mapproxy.yml", "pygeoapi.yml")
# Left out of the copy that is built: not part of the package, or what a build or a run leaves.
_TOP_LEVEL_SKIPPED = {".git", ".venv", "build", "dist", "data", "benchmarks", "tests", "web"}
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", "node_modules")


def _skip(folder: str, names: list[str]) -> set[str]:
    skipped = set(_SKIPPED(folder, names))
    return skipped | (_TOP_LEVEL_SKIPPED & set(names)) if Path(folder) == ROOT else skipped


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, so that build/ and the egg-info land outside the working tree.
    source = tmp_path_factory.mktemp("source") / "sdgcube"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_skip)
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-build-isolation", "--wheel-dir", str(out), str(source))
    (built,) = out.glob("sdgcube-*.whl")
    return built


def _template(name: str) -> dict:
    return yaml.safe_load((ROOT / "ogc_config" / name).read_text())


def test_the_wheel_carries_both_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in TEMPLATES:
            packaged = archive.read(f"sdgcube/ogc_config/{name}")
            assert packaged == (ROOT / "ogc_config" / name).read_bytes()


def test_the_wheel_carries_the_shipped_model(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("sdgcube/models/shipped/buildings-demo.pt")
    assert packaged == (ROOT / "sdgcube" / "models" / "shipped" / "buildings-demo.pt").read_bytes()


_PROBE = """
import json, sdgcube
from sdgcube.app import ogc_config, openapi_bundle
from sdgcube.tiles import mapproxy_config
print(json.dumps({
    "package": sdgcube.__file__,
    "bundled_refs": sorted(openapi_bundle._bundled().refs),
    "template_dir": str(ogc_config.TEMPLATE_DIR),
    "pygeoapi": ogc_config._template(),
    "mapproxy": mapproxy_config._template(),
}, default=str))
"""


def test_an_installed_copy_loads_the_templates_from_itself(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _pip("install", "--target", str(site), str(wheel))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SDGCUBE_"))}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert Path(loaded["package"]) == site / "sdgcube" / "__init__.py"
    assert Path(loaded["template_dir"]) == site / "sdgcube" / "ogc_config"
    assert not (site / "sdgcube" / "ogc_config").is_symlink()
    for key, name in (("pygeoapi", "pygeoapi.yml"), ("mapproxy", "mapproxy.yml")):
        assert loaded[key] == json.loads(json.dumps(_template(name), default=str))
    # The OGC building blocks of the OpenAPI document travel as package data too.
    bundled = yaml.safe_load((ROOT / "sdgcube" / "app" / "ogc_openapi.yaml").read_text())
    assert loaded["bundled_refs"] == sorted(bundled["refs"]) != []
