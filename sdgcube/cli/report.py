"""``sdgcube report JOB_ID --pdf FILE [--xlsx FILE] [--html FILE]``: a finished job's report.

The same report as ``GET /jobs/{id}/report``, made in this process from the index. Each file is
written beside its final name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sdgcube.cli.errors import fail, user_errors
from sdgcube.cli.options import DataDir, settings_for

__all__ = ["report"]


def _write(path: Path, data: bytes) -> None:
    from sdgcube.datacube.cog import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def report(
    job_id: Annotated[str, typer.Argument(help="Id of a successful indicator job")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF report here")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the XLSX tables here")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML page here")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the report of a finished indicator job: PDF, XLSX (UNCCD SO1 tables for 15.3.1), HTML."""
    targets = {fmt: path for fmt, path in (("pdf", pdf), ("xlsx", xlsx), ("html", html)) if path}
    if not targets:
        raise fail("give at least one of --pdf FILE, --xlsx FILE, --html FILE")
    missing = sorted(str(p.parent) for p in targets.values() if not p.parent.is_dir())
    if missing:
        raise fail(f"no such folder: {', '.join(missing)}")
    with user_errors():
        from sdgcube.auth.identity import OPEN_CALLER
        from sdgcube.processes.services import Services
        from sdgcube.reports import build_report, job_for_report, render

        with Services.build(settings_for(data_dir)) as services:
            # The operator at the machine sees every job, as with authentication off.
            record, document = job_for_report(services, job_id, OPEN_CALLER)
            built = build_report(services, record, document)
            for fmt, path in targets.items():
                _write(path, render(built, fmt))
                print(f"{fmt}\t{path}")
