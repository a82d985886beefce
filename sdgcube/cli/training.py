"""``sdgcube train`` and ``sdgcube evaluate``: building-segmentation models from the cube's chips.

torch and segmentation-models-pytorch cost seconds to import: only these commands pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdgcube.cli.errors import fail, user_errors
from sdgcube.cli.options import DataDir, progress_bar, settings_for

if TYPE_CHECKING:
    from sdgcube.datacube.cube import Cube
    from sdgcube.models.card import ModelCard
    from sdgcube.models.fitting import FitRequest
    from sdgcube.models.training import EpochReport

__all__ = ["evaluate", "train"]

Bands = Annotated[str, typer.Option(help="Input bands of the image product, comma-separated")]


def train(
    arch: Annotated[str, typer.Option(help="deeplabv3plus | deeplabv3 | unet | pspnet | fpn | segformer")] = "deeplabv3plus",
    encoder: Annotated[str, typer.Option(help="Encoder, e.g. resnet18, resnet34, mobilenet_v2, mit_b0")] = "resnet18",
    encoder_depth: Annotated[int, typer.Option(help="Encoder stages used, 3 to 5")] = 5,
    decoder_channels: Annotated[int | None, typer.Option(help="Decoder width (DeepLabV3(+), FPN, SegFormer)")] = None,
    product: Annotated[str, typer.Option(help="Image product")] = "hires_rgb",
    labels: Annotated[str, typer.Option(help="Label product: 1 building, 0 background")] = "building_labels",
    bands: Bands = "red,green,blue",
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs (early stopping may end sooner)")] = 60,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without a better validation IoU before stopping")] = 12,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    validation: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of chips held out for validation")] = 0.2,
    seed: int = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    model_id: Annotated[str | None, typer.Option("--id", help="Model id (default: <arch>-<encoder>-<product>)")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the checkpoint here instead of the registry")] = None,
    data_dir: DataDir = None,
) -> None:  # fmt: skip
    """Train a building-segmentation model on the image product's chips and register it."""
    from sdgcube.datacube.cube import open_cube
    from sdgcube.models.architectures import ARCHITECTURES, NetworkSpec
    from sdgcube.models.fitting import FitRequest
    from sdgcube.models.training import resolve_device

    with user_errors():
        if arch not in ARCHITECTURES:
            raise fail(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
        try:
            resolve_device(device)
        except ValueError as exc:
            raise fail(str(exc)) from None
        settings = settings_for(data_dir)
        model_id = model_id or f"{arch}-{encoder}-{product}".lower().replace("_", "-")
        path = output or settings.data_dir / "training" / f"{model_id}.pt"
        spec = NetworkSpec(arch, encoder, len(bands.split(",")), encoder_depth, decoder_channels)
        request = FitRequest(model_id, spec, product, labels, tuple(b.strip() for b in bands.split(",")), path,
                             epochs=epochs, patience=patience, batch_size=batch_size,
                             validation_fraction=validation, seed=seed, device=device)  # fmt: skip
        with open_cube(settings) as cube:
            card = _fit_with_progress(cube, request)
        if output is None:
            from sdgcube.models.registry import ModelRegistry

            ModelRegistry(settings.archive_dir).add(path, model_id, replace=True)
        best = card.training.best_epoch if card.training else 0
        print(f"model written to {output or f'the registry as {model_id!r}'} (best epoch {best}, validation "
              f"mIoU {100 * card.metrics.get('miou', float('nan')):.2f} %, "
              f"building IoU {100 * card.metrics.get('iou_building', float('nan')):.2f} %)")  # fmt: skip


def _fit_with_progress(cube: Cube, request: FitRequest) -> ModelCard:
    from sdgcube.models.fitting import fit_model

    with progress_bar() as bar:
        task = bar.add_task("loading the chips", total=None)
        state = {"epoch": 1, "steps": 0}

        def start(steps: int) -> None:
            state["steps"] = steps
            bar.update(task, total=steps * request.epochs, description="epoch 1")

        def epoch(report: EpochReport) -> None:
            iou = f", val IoU {100 * report.metrics.iou[1]:.1f} %" if report.metrics else ""
            bar.update(task, completed=report.epoch * state["steps"],
                       description=f"epoch {report.epoch + 1}: loss {report.loss:.3f}{iou}")  # fmt: skip

        return fit_model(
            cube, request, on_start=start, on_step=lambda: bar.advance(task), on_epoch=epoch
        )


def evaluate(
    model: Annotated[str, typer.Argument(help="Model id in the registry, or a checkpoint file")],
    product: Annotated[str | None, typer.Option(help="Image product (default: the model's training product)")] = None,
    labels: Annotated[str | None, typer.Option(help="Label product (default: the model's)")] = None,
    chips: Annotated[str, typer.Option(help="unseen (not trained on) | all")] = "unseen",
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Default: the model's")] = None,
    output_dir: Annotated[Path, typer.Option(help="Where metrics.json and metrics.csv go")] = Path(),
    data_dir: DataDir = None,
) -> None:  # fmt: skip
    """Score a model on labelled chips: Precision, Recall, F1, PA, mPA, mIoU and OA (percent)."""
    from sdgcube.datacube.cube import open_cube
    from sdgcube.models.checkpoint import load_model
    from sdgcube.models.evaluation import TABLE_HEADINGS, evaluate_chips, write_metric_table
    from sdgcube.models.registry import ModelRegistry
    from sdgcube.models.training_data import load_chips

    with user_errors():
        if chips not in ("unseen", "all"):
            raise fail(f"--chips must be unseen or all, not {chips!r}")
        settings = settings_for(data_dir)
        loaded = (
            load_model(Path(model))
            if Path(model).is_file()
            else ModelRegistry(settings.archive_dir).load(model)
        )
        card, training = loaded.card, loaded.card.training
        product = product or (training.product if training else None)
        labels = labels or (training.labels_product if training else None)
        if product is None or labels is None:
            raise fail("the model's card names no training products: give --product and --labels")
        with open_cube(settings) as cube:
            found = load_chips(cube, product, labels, bands=card.bands,
                               label_band=training.label_band if training and labels == training.labels_product else None)  # fmt: skip
        seen = set(training.train_datasets) if training and chips == "unseen" and product == training.product else set()  # fmt: skip
        found = [c for c in found if c.dataset_id not in seen]
        if not found:
            raise fail(f"every chip of {product!r} was used to train {card.id!r}: try --chips all")
        metrics = evaluate_chips(loaded, found, threshold=threshold)
        write_metric_table(card.id, metrics, json_path=output_dir / "metrics.json", csv_path=output_dir / "metrics.csv")  # fmt: skip
    _print_table(card.id, len(found), metrics.as_percent(), TABLE_HEADINGS)
    print(f"written to {output_dir / 'metrics.json'} and {output_dir / 'metrics.csv'}")


def _print_table(
    model_id: str, n_chips: int, values: dict[str, float], headings: dict[str, str]
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{model_id} on {n_chips} chips (percent)")
    table.add_column("Model")
    for key in values:
        table.add_column(headings[key], justify="right")
    table.add_row(model_id, *(f"{values[k]:.2f}" for k in values))
    Console().print(table)
