"""``sdgcube models``: the segmentation models the server can run — list, show, add, remove.

Torch and the registry are imported inside each command: loading the CLI must stay light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdgcube.cli.errors import user_errors
from sdgcube.cli.options import DataDir, settings_for

if TYPE_CHECKING:
    from sdgcube.models.registry import ModelEntry, ModelRegistry

__all__ = ["models_app"]

models_app = typer.Typer(no_args_is_help=True, help="Segmentation models: list, show, add, remove.")

ModelId = Annotated[str, typer.Argument(help="Model id (sdgcube models list)", show_default=False)]


def _registry(data_dir: Path | None) -> ModelRegistry:
    from sdgcube.models.registry import ModelRegistry

    return ModelRegistry(settings_for(data_dir).archive_dir)


_COLUMNS = ("id", "architecture", "encoder", "bands", "chip", "mIoU", "source")


def _row(entry: ModelEntry) -> list[str]:
    card = entry.card
    miou = card.metrics.get("miou")
    return [entry.id, card.architecture, card.encoder, ",".join(card.bands), str(card.chip_size),
            "-" if miou is None or miou != miou else f"{100 * miou:.1f}",
            "shipped" if entry.shipped else "archive"]  # fmt: skip


@models_app.command("list")
def list_models(data_dir: DataDir = None) -> None:
    """One model per line, tab-separated: id, architecture, encoder, bands, chip, mIoU (%), source."""
    with user_errors():
        entries = _registry(data_dir).entries()
    print("\t".join(_COLUMNS))
    for entry in entries:
        print("\t".join(_row(entry)))


@models_app.command("show")
def show(model_id: ModelId, data_dir: DataDir = None) -> None:
    """The model's card as JSON."""
    from sdgcube.models.registry import read_card

    with user_errors():
        card = read_card(_registry(data_dir).path_of(model_id))
    print(json.dumps(card.model_dump(mode="json"), indent=2))


@models_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="sdgcube model file (.pt)", show_default=False)],
    model_id: Annotated[
        str | None, typer.Option("--id", help="Id to publish it under (default: its card's)")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite a model of the same id")] = False,
    data_dir: DataDir = None,
) -> None:
    """Check a model file (card, weights, parameter count) and add it to the archive; a file that
    fails the check changes nothing."""
    with user_errors():
        entry = _registry(data_dir).add(path, model_id, replace=replace)
    print(
        f"added model {entry.id} ({entry.card.architecture}/{entry.card.encoder}) at {entry.path}"
    )


@models_app.command("remove")
def remove(model_id: ModelId, data_dir: DataDir = None) -> None:
    """Delete a model added to the archive (shipped models stay)."""
    with user_errors():
        _registry(data_dir).remove(model_id)
    print(f"removed model {model_id}")
