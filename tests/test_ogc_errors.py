"""The one error table: every error sdgcube raises has one status and one OGC code, everywhere."""

from __future__ import annotations

import inspect

import pytest
from rio_tiler.errors import TileOutsideBounds

from sdgcube import errors
from sdgcube.ogc_errors import ERROR_TABLE, INTERNAL, exception_document, ogc_error


def test_every_sdgcube_error_has_its_own_row():
    leaves = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.SdgcubeError)
    }
    assert leaves - set(ERROR_TABLE) == set()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NoData("no datasets"), 404, "NotFound"),
        (errors.UnknownProduct("x"), 404, "NotFound"),
        (errors.UnknownCollection("x"), 404, "NotFound"),
        (errors.UnknownJob("x"), 404, "NoSuchJob"),
        (errors.UnknownKey("x"), 404, "NotFound"),
        (errors.Unauthenticated("no key"), 401, "AuthenticationRequired"),
        (errors.Forbidden("not your role"), 403, "Forbidden"),
        (errors.QuotaExceeded("concurrent_jobs", "two at once", 30), 429, "QuotaExceeded"),
        (errors.InvalidRequest("bad bbox"), 400, "InvalidParameterValue"),
        (errors.LimitExceeded("too big"), 400, "LimitExceeded"),
        (errors.IngestError("corrupt"), 400, "InvalidParameterValue"),
        (errors.IndexUnavailable("down"), 503, "ServiceUnavailable"),
        (errors.ClusterUnavailable("down"), 503, "ServiceUnavailable"),
        (errors.ConfigError("bad setting"), 500, "NoApplicableCode"),
        (TileOutsideBounds("outside"), 404, "NotFound"),
        (KeyError("anything else"), 500, "NoApplicableCode"),
    ],
)
def test_status_and_code(error, status, code):
    found = ogc_error(error)
    assert (found.status, found.code) == (status, code)


def test_the_most_specific_class_wins():
    class Narrower(errors.LimitExceeded):
        pass

    assert ogc_error(Narrower("x")).code == "LimitExceeded"
    assert ogc_error(errors.SdgcubeError("x")) == INTERNAL


def test_one_document_shape():
    assert exception_document("NotFound", "no such tile") == {
        "code": "NotFound",
        "type": "NotFound",
        "description": "no such tile",
    }
