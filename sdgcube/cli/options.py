"""Options and helpers that several command modules share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

    from sdgcube.settings import Settings

__all__ = ["DataDir", "progress_bar", "settings_for"]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).", show_default=False
    ),
]


def settings_for(data_dir: Path | None) -> Settings:
    from sdgcube.settings import Settings

    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def progress_bar() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
