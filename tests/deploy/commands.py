"""The command lines that deploy/ runs, parsed by the real command-line interfaces.

A container's argv (``sdgcube serve …``, ``dask worker …``, ``dask scheduler …``) is handed to the
click command that would run it, without running it: an unknown option, a bad value (``--workers
0``) or a memory limit Dask cannot read is a finding. Also the Dockerfile, read as instructions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import typer

from sdgcube.cli.app import app

__all__ = ["argv_findings", "dockerfile_instructions", "exec_form"]

_OPTION_ARG = re.compile(r"^\$\(([A-Z_]+)\)$")  # Kubernetes' $(VAR) expansion


def _click_findings(command: Any, name: str, args: list[str]) -> list[str]:
    # typer carries its own copy of click (typer._click): the same protocol, other classes, whose
    # exceptions derive from typer.TyperException.
    try:
        ctx = command.make_context(name, list(args), resilient_parsing=False)
    except (click.ClickException, typer.TyperException) as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
        return [f"{name} {' '.join(args)}: {message}"]
    if hasattr(command, "get_command"):  # a group: the first word names the subcommand
        sub = command.get_command(ctx, args[0]) if args else None
        if sub is None:
            return [f"{name}: no command {args[:1]}"]
        return _click_findings(sub, f"{name} {args[0]}", args[1:])
    return _dask_findings(name, ctx.params)


def _dask_findings(name: str, params: dict[str, object]) -> list[str]:
    from dask.utils import parse_bytes

    limit = params.get("memory_limit")
    if name == "dask worker" and isinstance(limit, str) and limit != "auto":
        try:
            parse_bytes(limit)
        except ValueError as exc:
            return [f"dask worker --memory-limit {limit}: {exc}"]
    return []


def argv_findings(argv: list[str]) -> list[str]:
    """Why this argv would not start (empty if it parses): sdgcube's or Dask's own parser says."""
    from distributed.cli.dask_scheduler import main as dask_scheduler
    from distributed.cli.dask_worker import main as dask_worker

    # $(VAR) is expanded by Kubernetes from the container's environment: a stand-in value parses.
    args = [_OPTION_ARG.sub(r"\1", word) for word in argv]
    match args:
        case ["sdgcube", *rest]:
            return _click_findings(typer.main.get_command(app), "sdgcube", rest)
        case ["dask", "worker", *rest]:
            return _click_findings(dask_worker, "dask worker", rest)
        case ["dask", "scheduler", *rest]:
            return _click_findings(dask_scheduler, "dask scheduler", rest)
    return [f"{argv}: neither sdgcube nor dask worker/scheduler"]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    result = []
    for text in logical:
        word, _, rest = text.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form ENTRYPOINT/CMD (a JSON array); shell form is refused."""
    value = json.loads(arguments)
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise ValueError(f"not an exec-form array: {arguments}")
    return value
