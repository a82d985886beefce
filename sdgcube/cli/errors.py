"""The one place where errors become exit codes: 2 and one line on stderr for anything the user can
fix (bad input, bad configuration, an unreachable index)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from sdgcube.errors import SdgcubeError

__all__ = ["EXIT_USAGE", "fail", "user_errors"]

EXIT_USAGE = 2


def fail(message: str) -> typer.Exit:
    print(f"sdgcube: error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_USAGE)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except SdgcubeError as exc:
        raise fail(_one_line(str(exc))) from None
    except Exception as exc:
        # pydantic is imported here, not at start-up: every command, --help too, would pay for it.
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise fail(f"invalid configuration: {where}: {first['msg']}") from None
