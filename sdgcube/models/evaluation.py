"""Scoring a model on labelled chips: the seed's metric table, as JSON and CSV.

Each chip is predicted whole (``predict_image``) and thresholded; one confusion matrix sums every chip's pixels, so
the table weighs each pixel equally (``sdgcube.models.metrics`` defines each column).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from sdgcube.datacube.cog import atomic_path
from sdgcube.models.checkpoint import LoadedModel
from sdgcube.models.metrics import (
    TABLE_COLUMNS,
    SegmentationMetrics,
    confusion_matrix,
    segmentation_metrics,
)
from sdgcube.models.training import predict_image
from sdgcube.models.training_data import IGNORE, LabelledChip

__all__ = ["TABLE_HEADINGS", "chip_probability", "evaluate_chips", "metric_table_csv", "write_metric_table"]  # fmt: skip

TABLE_HEADINGS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "pa": "PA",
                  "mpa": "mPA", "miou": "mIoU", "oa": "OA"}  # fmt: skip


def chip_probability(model: LoadedModel, image: npt.NDArray[np.float32], device: torch.device) -> npt.NDArray[np.float32]:  # fmt: skip
    """(y, x) building probability of one (band, y, x) image of stored values."""
    card = model.card
    return predict_image(
        model.network, image, card.normalisation.mean, card.normalisation.std, device
    )


def evaluate_chips(model: LoadedModel, chips: Sequence[LabelledChip], *, threshold: float | None = None,
                   device: torch.device | None = None) -> SegmentationMetrics:  # fmt: skip
    device = device or torch.device("cpu")
    network = model.network.to(device)
    cut = model.card.threshold if threshold is None else threshold
    cm = np.zeros((2, 2), dtype=np.int64)
    for chip in chips:
        probability = chip_probability(LoadedModel(model.card, network), chip.image, device)
        cm += confusion_matrix(chip.labels, probability > cut, ignore=IGNORE)
    return segmentation_metrics(cm)


def metric_table_csv(model_id: str, metrics: SegmentationMetrics) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Model", *TABLE_HEADINGS.values(), "Pixels"])
    writer.writerow([model_id, *metrics.as_percent().values(), metrics.pixels])
    return buffer.getvalue()


def write_metric_table(model_id: str, metrics: SegmentationMetrics, *, json_path: Path, csv_path: Path) -> None:  # fmt: skip
    """The table in percent, JSON and CSV, each written to a temporary file then renamed."""
    document = {"model": model_id, "metrics_percent": metrics.as_percent(), "pixels": metrics.pixels,
                "iou_per_class_percent": [round(100 * v, 2) for v in metrics.iou],
                "columns": {k: TABLE_HEADINGS[k] for k in TABLE_COLUMNS}}  # fmt: skip
    for path, text in ((json_path, json.dumps(document, indent=2)), (csv_path, metric_table_csv(model_id, metrics))):  # fmt: skip
        with atomic_path(path) as tmp:
            tmp.write_text(text)
