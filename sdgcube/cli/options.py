"""Options and helpers that several command modules share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sdgcube.settings import Settings

__all__ = ["DataDir", "settings_for"]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).", show_default=False
    ),
]


def settings_for(data_dir: Path | None) -> Settings:
    from sdgcube.settings import Settings

    return Settings(data_dir=data_dir) if data_dir is not None else Settings()
