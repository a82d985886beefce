"""What a command imports decides how long it takes to start (benchmarks/bench_cli.py): each case
runs in a fresh interpreter and looks at ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys

from sdgcube.datacube.index import init_index
from sdgcube.datacube.products import builtin_product_names

HEAVY = {"datacube", "xarray", "dask", "distributed", "numba", "pygeoapi", "titiler", "mapproxy"}


def _python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON document last."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_loading_the_cli_imports_no_heavy_stack():
    loaded = _python("import json, sys, sdgcube.cli.app; print(json.dumps(sorted(sys.modules)))")
    assert not _top_level(loaded) & (
        HEAVY | {"numpy", "pydantic", "rich", "sqlalchemy", "jsonschema"}
    )


def test_the_server_leaves_the_fuzzer_to_the_tests():
    loaded = _python(
        "import json, sys, sdgcube.app.server, sdgcube.app.openapi_bundle;"
        " print(json.dumps(sorted(sys.modules)))"
    )
    assert not _top_level(loaded) & {"schemathesis", "hypothesis"}


def test_products_lists_the_index_without_odc(make_settings):
    settings = make_settings("embedded")
    init_index(settings).close()
    code = f"""
import contextlib, io, json, sys
from sdgcube.cli.app import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    app(["products", "--data-dir", {str(settings.data_dir)!r}], standalone_mode=False)
print(json.dumps({{"names": out.getvalue().split(), "modules": sorted(sys.modules)}}))
"""
    done = _python(code)
    assert done["names"] == sorted(builtin_product_names())
    assert not _top_level(done["modules"]) & HEAVY


def test_jsonschema_checks_iri_formats_as_before_with_rfc3987_syntax_deferred():
    code = """
import json, sys
import sdgcube, jsonschema
deferred = sys.modules["rfc3987_syntax"].__dict__.get("__file__") is None
check = jsonschema.Draft202012Validator(
    {"format": "iri"}, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
answers = [check.is_valid(v) for v in ("http://example.com/ü", "http://example.com/a b", "no")]
loaded = sys.modules["rfc3987_syntax"].__dict__.get("__file__") is not None
print(json.dumps({"deferred": deferred, "answers": answers, "loaded": loaded}))
"""
    done = _python(code)
    assert done == {"deferred": True, "answers": [True, False, False], "loaded": True}


def test_an_embedded_index_loads_only_the_postgres_driver(make_settings):
    """ODC would import every index driver; the postgis one alone costs ~0.4 s per process."""
    settings = make_settings("embedded")
    init_index(settings).close()
    code = f"""
import json, sys
from sdgcube.datacube.cube import open_cube
from sdgcube.settings import Settings
with open_cube(Settings(data_dir={str(settings.data_dir)!r})) as cube:
    names = [product.name for product in cube.products()]
print(json.dumps({{"names": names, "modules": sorted(sys.modules)}}))
"""
    done = _python(code)
    assert done["names"] == sorted(builtin_product_names())
    assert "datacube.index.postgres.index" in done["modules"]
    assert not {"datacube.index.postgis.index", "geoalchemy2"} & set(done["modules"])
