"""Training a model on the cube's chips, end to end: chips → split → network → card → checkpoint.

The checkpoint is rewritten (atomically) whenever an epoch beats the best so far, so an
interrupted run leaves the best model up to then, with a card that says which epoch it is.
"""

from __future__ import annotations

import platform
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import torch

from sdgcube.datacube.cube import Cube
from sdgcube.models.architectures import NetworkSpec, count_parameters
from sdgcube.models.card import ModelCard, Normalisation, TrainingData
from sdgcube.models.checkpoint import save_model
from sdgcube.models.metrics import segmentation_metrics
from sdgcube.models.training import (
    EpochReport,
    TrainingConfig,
    best_threshold,
    resolve_device,
    train_network,
)
from sdgcube.models.training_data import band_statistics, load_chips, split_by_chip

__all__ = ["FitRequest", "fit_model", "software_versions"]


@dataclass(frozen=True)
class FitRequest:
    model_id: str
    network: NetworkSpec
    product: str
    labels_product: str
    bands: tuple[str, ...]
    output: Path
    label_band: str | None = None
    epochs: int = 60
    patience: int = 12
    batch_size: int = 8
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"


def software_versions() -> dict[str, str]:
    return {"sdgcube": version("sdgcube"), "torch": torch.__version__,
            "segmentation-models-pytorch": version("segmentation-models-pytorch"),
            "python": platform.python_version()}  # fmt: skip


def _card(request: FitRequest, config: TrainingConfig, training: TrainingData, report: EpochReport,
          parameters: int, resolution: float, threshold: float = 0.5) -> ModelCard:  # fmt: skip
    spec = request.network
    metrics = report.metrics or segmentation_metrics([[0, 0], [0, 0]])
    return ModelCard(
        id=request.model_id, title=f"Building segmentation, {spec.architecture} / {spec.encoder}",
        description=f"Trained by sdgcube on {request.product} chips labelled by {request.labels_product}.",
        architecture=spec.architecture, encoder=spec.encoder, encoder_depth=spec.encoder_depth,
        decoder_channels=spec.decoder_channels, bands=request.bands,
        normalisation=Normalisation(mean=config.mean, std=config.std), chip_size=config.crop,
        resolution_m=resolution, total_parameters=parameters, threshold=threshold,
        training=training.model_copy(update={"best_epoch": report.epoch}),
        metrics={**{k: v for k, v in vars(metrics).items() if isinstance(v, float)}, "iou_building": metrics.iou[1]},
        software=software_versions(), created=datetime.now(UTC),
    )  # fmt: skip


def fit_model(
    cube: Cube, request: FitRequest, *, on_start: Callable[[int], None] = lambda n: None,
    on_step: Callable[[], None] = lambda: None, on_epoch: Callable[[EpochReport], None] = lambda r: None,
) -> ModelCard:  # fmt: skip
    """Train as ``request`` says and write the best model to ``request.output``; its card. The card's
    threshold is the one with the best building IoU on the validation chips, its metrics those there.

    ``on_start`` gets the number of steps of one epoch."""
    chips = load_chips(cube, request.product, request.labels_product, bands=request.bands,
                       label_band=request.label_band)  # fmt: skip
    train, validation = split_by_chip(chips, request.validation_fraction, request.seed)
    mean, std = band_statistics(train)
    crop = min(256, *(min(c.labels.shape) // 32 * 32 for c in chips))
    config = TrainingConfig(request.network, mean, std, epochs=request.epochs, batch_size=request.batch_size,
                            patience=request.patience, crop=crop, seed=request.seed, device=request.device)  # fmt: skip
    resolution = chips[0].resolution
    training = TrainingData(
        product=request.product, labels_product=request.labels_product,
        label_band=request.label_band or cube.bands(request.labels_product).names[0],
        train_datasets=tuple(c.dataset_id for c in train), validation_datasets=tuple(c.dataset_id for c in validation),
        epochs=request.epochs, best_epoch=0, seed=request.seed, command=shlex.join(["sdgcube", *sys.argv[1:]]),
    )  # fmt: skip
    on_start(-(-len(train) // request.batch_size))

    def checkpoint(report: EpochReport, network: torch.nn.Module) -> None:
        if report.best:
            card = _card(request, config, training, report, count_parameters(network), resolution)
            save_model(request.output, card, network)
        on_epoch(report)

    result = train_network(train, validation, config, on_step=on_step, on_epoch=checkpoint)
    if not validation:
        return _card(
            request, config, training, result.best, count_parameters(result.network), resolution
        )
    threshold, metrics = best_threshold(
        result.network, validation, mean, std, resolve_device(request.device)
    )
    report = replace(result.best, metrics=metrics)
    card = _card(
        request, config, training, report, count_parameters(result.network), resolution, threshold
    )
    save_model(request.output, card, result.network)
    return card
