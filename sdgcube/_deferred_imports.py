"""Third-party imports that cost seconds at import time, deferred to their first use."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["defer_rfc3987_syntax"]

_RFC3987 = "rfc3987_syntax"


def defer_rfc3987_syntax() -> None:
    """Let ``rfc3987_syntax`` build its parsers when one is first used rather than at import.

    jsonschema imports it with its format checkers (ODC requires ``jsonschema[format-nongpl]``), and
    the import compiles some forty Lark grammars: 2 s on a quiet machine, 10 s under load, paid by
    every process that validates a document — ODC validates product and metadata-type documents —
    for the ``iri`` and ``iri-reference`` formats that none of ODC's schemas uses. Until then a
    stand-in module takes its place; calling its ``is_valid_syntax`` (what jsonschema imports) or
    reading any other attribute imports the real module, so validation gives the same answers."""
    if _RFC3987 in sys.modules or importlib.util.find_spec(_RFC3987) is None:
        return
    stand_in = types.ModuleType(_RFC3987, "Stand-in until first use (sdgcube._deferred_imports).")

    def real() -> types.ModuleType:
        if sys.modules.get(_RFC3987) is stand_in:
            del sys.modules[_RFC3987]
        return importlib.import_module(_RFC3987)

    def is_valid_syntax(term: str, value: str) -> bool:
        return bool(real().is_valid_syntax(term, value))

    def __getattr__(name: str) -> Any:  # noqa: N807 - a module's attribute hook (PEP 562)
        if name.startswith("__"):
            # The import system asks for __path__ (and repr for __file__): not a use.
            raise AttributeError(name)
        return getattr(real(), name)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[_RFC3987] = stand_in
