"""Training: a tiny network learns from demo chips; augmentation keeps labels on their pixels."""

from __future__ import annotations

import numpy as np
import pytest

from sdgcube.datacube.demo.chips import make_chip
from sdgcube.models.spec import NetworkSpec
from sdgcube.models.training import (
    SEPARATOR,
    TrainingConfig,
    augment,
    mark_separators,
    train_network,
)
from sdgcube.models.training_data import IGNORE, LabelledChip, band_statistics, split_by_chip


def chips(count: int, seed: int) -> list[LabelledChip]:
    made = [make_chip(np.random.default_rng([seed, i])) for i in range(count)]
    return [
        LabelledChip(f"chip-{i}", c.rgb.astype(np.float32), c.labels, 0.5)
        for i, c in enumerate(made)
    ]


def test_a_few_epochs_lower_the_loss() -> None:
    train, validation = chips(4, 1), chips(1, 2)
    mean, std = band_statistics(train)
    config = TrainingConfig(NetworkSpec("unet", "resnet18", 3, encoder_depth=3, decoder_channels=8), mean, std,
                            epochs=6, batch_size=4, learning_rate=3e-3, crop=96, seed=0, patience=99)  # fmt: skip
    result = train_network(train, validation, config)
    losses = [r.loss for r in result.history]
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0], losses
    assert result.best.metrics is not None and result.best == max(
        result.history, key=lambda r: r.metrics.iou[1]
    )  # type: ignore[union-attr]


def test_augmentation_moves_labels_with_their_pixels() -> None:
    image = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    labels = (np.arange(64).reshape(8, 8) % 5 == 0).astype(np.uint8)
    labels[0, 1] = IGNORE
    for seed in range(8):
        out, out_labels = augment(image, labels, np.random.default_rng(seed), crop=8, jitter=False)
        # each label stays with the pixel it labels: band 0's values identify the pixel
        original = {int(v): int(labels.flat[int(v)]) for v in image[0].ravel()}
        assert all(
            original[int(v)] == int(lab)
            for v, lab in zip(out[0].ravel(), out_labels.ravel(), strict=True)
        )


def test_validation_holds_out_whole_chips() -> None:
    train, validation = split_by_chip(chips(5, 3), 0.2, seed=1)
    assert len(validation) == 1 and len(train) == 4
    assert not {c.dataset_id for c in train} & {c.dataset_id for c in validation}


@pytest.mark.parametrize("count", [1, 2])
def test_tiny_sets_still_split(count: int) -> None:
    train, validation = split_by_chip(chips(count, 4), 0.2, seed=0)
    assert len(train) >= 1 and len(train) + len(validation) == count


def test_separators_mark_the_background_between_two_buildings() -> None:
    labels = np.zeros((6, 10), np.uint8)
    labels[1:5, 1:4] = 1
    labels[1:5, 6:9] = 1
    labels[0, 0] = IGNORE
    marked = mark_separators(labels)
    assert (marked[:, 4:6] == SEPARATOR).all()  # the two-pixel gap between the houses
    assert (marked[1:5, 1:4] == 1).all() and marked[0, 0] == IGNORE
    assert (marked[:, [0, 9]][1:] == 0).all()  # outer background stays background
    single = np.zeros((6, 6), np.uint8)
    single[2:4, 2:4] = 1
    assert (mark_separators(single) == single).all()
