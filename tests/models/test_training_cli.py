"""``sdgcube train`` and ``sdgcube evaluate`` on the demo archive, through the command line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from sdgcube.cli import app
from sdgcube.models.checkpoint import load_model
from sdgcube.models.evaluation import chip_probability
from sdgcube.models.registry import ModelRegistry
from sdgcube.models.training_data import IGNORE, load_chips

pytestmark = pytest.mark.slow


def invoke(cube, *args: str):
    """The command on the cube's index: its data dir, and its database when that is PostGIS."""
    url = cube.settings.db_url
    env = {"SDGCUBE_DB_URL": url.get_secret_value()} if url is not None else {}
    return CliRunner().invoke(app, [*args, "--data-dir", str(cube.settings.data_dir)], env=env)


def test_train_writes_a_checked_checkpoint_with_its_card(demo, tmp_path) -> None:
    cube, _ = demo
    output = tmp_path / "tiny.pt"
    result = invoke(cube, "train", "--arch", "unet", "--encoder", "resnet18", "--encoder-depth", "3",
                    "--decoder-channels", "8", "--epochs", "2", "--batch-size", "2", "--device", "cpu", "--id",
                    "tiny", "--output", str(output))  # fmt: skip
    assert result.exit_code == 0, result.output
    model = load_model(output)
    training = model.card.training
    assert training is not None and training.epochs == 2 and 1 <= training.best_epoch <= 2
    assert set(training.train_datasets).isdisjoint(training.validation_datasets)
    assert len(training.train_datasets) + len(training.validation_datasets) == len(
        cube.datasets("hires_rgb")
    )
    assert 0 <= model.card.metrics["miou"] <= 1


def test_train_refuses_what_cannot_work(demo) -> None:
    cube, _ = demo
    for extra, message in ((["--arch", "nope"], "--arch must be one of"), (["--device", "tpu"], "device must be"),
                           (["--labels", "nope"], "nope")):  # fmt: skip
        result = invoke(cube, "train", *extra, "--epochs", "1")
        assert result.exit_code == 2 and message in result.output, result.output


def test_evaluate_prints_and_writes_the_metric_table(demo, tmp_path) -> None:
    cube, _ = demo
    result = invoke(cube, "evaluate", "buildings-demo", "--output-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    for heading in ("Precision", "Recall", "F1", "PA", "mPA", "mIoU", "OA"):
        assert heading in result.output
    document = json.loads((tmp_path / "metrics.json").read_text())
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert rows[0]["mIoU"] == str(document["metrics_percent"]["miou"])
    # an independent count of the same pixels
    model = ModelRegistry(cube.settings.archive_dir).load("buildings-demo")
    tp = fp = fn = 0
    for chip in load_chips(cube, "hires_rgb", "building_labels", bands=model.card.bands):
        predicted = chip_probability(model, chip.image, torch.device("cpu")) > model.card.threshold
        valid = chip.labels != IGNORE
        truth = chip.labels == 1
        tp += int((predicted & truth & valid).sum())
        fp += int((predicted & ~truth & valid).sum())
        fn += int((~predicted & truth & valid).sum())
    assert document["metrics_percent"]["precision"] == pytest.approx(100 * tp / (tp + fp), abs=0.01)
    assert document["metrics_percent"]["recall"] == pytest.approx(100 * tp / (tp + fn), abs=0.01)
    assert np.isfinite(document["metrics_percent"]["oa"])
