"""MapProxy's answers to client errors made 400s, as WMS and WMTS require.

MapProxy renders every WMS exception report with HTTP 500, whether the client named an unknown
layer or CRS or the renderer failed; and it does not check ``WIDTH``/``HEIGHT``, the form of
``TIME`` or repeated parameters before rendering (``WIDTH=0`` crashed its PNG encoder). This WSGI wrapper refuses those
parameters with a report and turns the exception reports of client errors into 400s; a report of
a failed source ("Could not get…") stays a 500 because the fault is ours, not the client's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

__all__ = ["client_errors", "parameter_error"]

_SOURCE_FAILURE = b"Could not get"
_REPORT = """<?xml version="1.0"?>
<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc">
  <ServiceException{code}>{message}</ServiceException>
</ServiceExceptionReport>
"""


def _is_time(value: str) -> bool:
    """ISO 8601 instants, comma lists and start/end intervals, as WMS TIME values are written."""
    for part in (p for item in value.split(",") for p in item.split("/")):
        if part in ("", ".."):
            continue
        try:
            datetime.fromisoformat(part)
        except ValueError:
            return False
    return bool(value.strip())


def parameter_error(query: str) -> tuple[str, str | None] | None:
    """(message, WMS exception code) for a WMS parameter MapProxy would not refuse itself."""
    pairs = [(k.upper(), v) for k, v in parse_qsl(query, keep_blank_values=True)]
    params = dict(pairs)
    if params.get("SERVICE", "WMS").upper() != "WMS":
        return None
    if len(params) < len(pairs):
        # MapProxy joins repeats with commas; CRS=EPSG:3857&CRS=EPSG:4326 then crashed it.
        repeated = sorted({k for k, _ in pairs if sum(1 for n, _ in pairs if n == k) > 1})
        return f"parameters given more than once: {', '.join(repeated)}", None
    for name in ("WIDTH", "HEIGHT"):
        if name in params and not (params[name].isdigit() and int(params[name]) > 0):
            return f"{name} must be a positive integer, not {params[name]!r}", None
    if "TIME" in params and not _is_time(params["TIME"]):
        return f"TIME {params['TIME']!r} is not an ISO 8601 time", "InvalidDimensionValue"
    return None


def _report(message: str, code: str | None) -> bytes:
    attribute = f' code="{code}"' if code else ""
    return _REPORT.format(code=attribute, message=escape(message)).encode()


def _is_exception_report(headers: list[tuple[str, str]]) -> bool:
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    return "xml" in content_type


def client_errors(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap MapProxy's WSGI app so that client errors answer 400 with an exception report."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        refused = parameter_error(environ.get("QUERY_STRING", ""))
        if refused:
            start_response("400 Bad Request", [("Content-Type", "text/xml; charset=utf-8")])
            return [_report(*refused)]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None  # MapProxy returns its body; it never calls write()

        body = app(environ, capture)
        status, headers = captured["status"], captured["headers"]
        if not (status.startswith("500") and _is_exception_report(headers)):
            start_response(status, headers, captured["exc_info"])
            return body
        content = b"".join(body)
        if _SOURCE_FAILURE not in content:
            status = "400 Bad Request"
        start_response(status, headers)
        return [content]

    return wrapped
