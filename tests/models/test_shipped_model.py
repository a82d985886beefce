"""The model shipped in the package: small, documented, and good on demo chips it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sdgcube.datacube.demo.chips import make_chip
from sdgcube.datacube.demo.noise import dataset_rng
from sdgcube.models.evaluation import evaluate_chips
from sdgcube.models.registry import DEFAULT_MODEL_ID, SHIPPED_DIR, ModelRegistry
from sdgcube.models.training import inference_dtype, normalised, predict_probability
from sdgcube.models.training_data import LabelledChip

TRAINED_ON_SEED = 2026
"""The demo seed of the chips it was trained on (its card's command says so too)."""


def test_it_is_small_and_says_how_it_was_made() -> None:
    path = SHIPPED_DIR / f"{DEFAULT_MODEL_ID}.pt"
    assert path.stat().st_size <= 15 * 2**20
    card = ModelRegistry(Path("/nonexistent")).card(None)
    assert card.id == DEFAULT_MODEL_ID and card.bands == ("red", "green", "blue")
    assert card.training is not None and card.training.command.startswith("sdgcube train ")
    assert card.metrics["iou_building"] >= 0.8


@pytest.mark.parametrize("seed", [7, 42])
def test_it_finds_buildings_on_chips_it_never_saw(seed: int, tmp_path: Path) -> None:
    assert seed != TRAINED_ON_SEED
    model = ModelRegistry(tmp_path).load(None)
    chips = []
    for index in range(6):
        chip = make_chip(dataset_rng(seed, f"chip/{index}"))
        chips.append(LabelledChip(f"{seed}/{index}", chip.rgb.astype(np.float32), chip.labels, 0.5))
    metrics = evaluate_chips(model, chips)
    assert metrics.iou[1] >= 0.80, metrics
    assert metrics.miou >= 0.85


def test_its_masks_do_not_depend_on_the_precision_it_predicts_in(tmp_path: Path) -> None:
    """bfloat16 on CPUs that run it natively, float32 elsewhere: a pixel's class hardly moves."""
    model = ModelRegistry(tmp_path).load(None)
    card, cpu = model.card, torch.device("cpu")
    if inference_dtype(cpu) == torch.float32:
        pytest.skip("this CPU predicts in float32 only: nothing to compare")
    chip = make_chip(dataset_rng(11, "chip/0"))
    images = normalised(chip.rgb.astype(np.float32), card.normalisation.mean, card.normalisation.std)[None]  # fmt: skip
    batch = torch.from_numpy(images).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        exact = torch.sigmoid(model.network(batch)[:, 0]).numpy()
    fast = predict_probability(model.network, images, cpu)
    assert np.percentile(np.abs(fast - exact), 99) < 0.01
    assert ((fast > card.threshold) == (exact > card.threshold)).mean() > 0.999
