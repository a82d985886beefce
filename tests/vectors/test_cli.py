"""``sdgcube boundaries`` as a user runs it: one line on success, exit 2 and one line on error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdgcube.settings import Settings
from tests.vectors.conftest import squares

pytestmark = pytest.mark.slow
SDGCUBE = str(Path(sys.executable).with_name("sdgcube"))


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDGCUBE_")}
    env["SDGCUBE_DATA_DIR"] = str(settings.data_dir)
    if settings.db_url is not None:
        env["SDGCUBE_DB_URL"] = settings.db_url.get_secret_value()
    return subprocess.run(
        [SDGCUBE, "boundaries", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_loads_a_file_and_reports_it(vector_settings, store, write_vectors):
    path = write_vectors("districts.gpkg", squares(3, x0=20), layer="districts")
    done = run(
        vector_settings,
        str(path),
        "--name",
        "cli_units",
        "--id-field",
        "code",
        "--title",
        "Districts",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "loaded 3 features into layer cli_units (bbox 20.000000, 0.000000, 23.000000, 1.000000)\n"
    )
    layer = store.get_layer("cli_units")
    assert (layer.title, layer.id_field, layer.feature_count) == ("Districts", "code", 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.geojson"], "not a file"),
        (["dup.geojson", "--id-field", "code"], "id field 'code' is not unique"),
        (["ok.geojson", "--name", "Not-A-Name"], "layer name 'Not-A-Name' must start with a-z"),
    ],
)
def test_errors_exit_2_with_one_line(
    vector_settings, store, write_vectors, tmp_path, args, message
):
    write_vectors("dup.geojson", squares(2) + squares(2))
    write_vectors("ok.geojson", squares(2))
    before = store.upsert_layer_features(
        "admin_units", [("A", {"type": "Point", "coordinates": [1, 2]}, {})]
    )
    done = run(vector_settings, str(tmp_path / args[0]), *args[1:])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("sdgcube: error: ") and message in done.stderr
    assert done.stderr.count("\n") == 1
    assert store.get_layer("admin_units") == before
