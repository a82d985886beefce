"""Every route family of the server is classified for the policy, with the collections it names."""

from __future__ import annotations

import pytest

from sdgcube.app.targets import Target, classify


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/", "", Target("meta")),
        ("/openapi", "f=json", Target("meta")),
        ("/static/css/default.css", "", Target("meta")),
        ("/auth/login", "", Target("meta")),
        ("/limits", "", Target("meta")),
        ("/app", "", Target("meta")),
        ("/app/", "", Target("meta")),
        ("/app/assets/index-1a2b3c.js", "", Target("meta")),
        ("/application", "", Target("collections")),
        ("/collections/land_cover/legend", "", Target("collections", ("land_cover",))),
        ("/collections", "", Target("collections")),
        ("/collections/sr_annual", "", Target("collections", ("sr_annual",))),
        ("/collections/sr_annual/coverage", "bbox=0,0,1,1", Target("coverages", ("sr_annual",))),
        ("/collections/sr_annual/coverage/domainset", "", Target("coverages", ("sr_annual",))),
        ("/collections/population/position", "coords=POINT(1 2)", Target("edr", ("population",))),
        ("/collections/population/area", "", Target("edr", ("population",))),
        ("/collections/admin_units/items/7", "", Target("features", ("admin_units",))),
        ("/collections/land%5Fcover/schema", "", Target("collections", ("land_cover",))),
        ("/tiles/collections/lc/tiles/WebMercatorQuad/1/2/3.png", "", Target("tiles", ("lc",))),
        ("/tiles/tileMatrixSets", "", Target("tiles")),
        (
            "/mapproxy/service",
            "SERVICE=WMS&LAYERS=a,b&QUERY_LAYERS=c",
            Target("maps", ("a", "b", "c")),
        ),
        ("/mapproxy/service", "service=WMS&request=GetCapabilities", Target("maps")),
        ("/mapproxy/wmts/lc/webmercator/3/1/2.png", "", Target("maps", ("lc",))),
        ("/mapproxy/tiles/1.0.0/lc/webmercator/3/1/2.png", "", Target("maps", ("lc",))),
        ("/stac", "", Target("stac")),
        ("/stac/archive/sr_annual/2020/x.json", "", Target("stac", ("sr_annual",))),
        ("/processes", "", Target("processes")),
        ("/processes/band-math", "", Target("processes")),
        ("/processes/band-math/execution", "", Target("execution", process="band-math")),
        ("/jobs", "", Target("jobs")),
        ("/jobs/abc/results", "", Target("jobs")),
        ("/audit", "limit=5", Target("admin")),
    ],
)
def test_classify(path: str, query: str, expected: Target) -> None:
    assert classify(path, query) == expected
