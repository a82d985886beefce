"""The metric table's definitions on hand-made masks, computed by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdgcube.models.metrics import confusion_matrix, segmentation_metrics

# 4 × 4 chip: 6 building pixels in truth, 5 predicted, 4 of them right.
TRUTH = np.array([[0, 0, 1, 1],
                  [0, 0, 1, 1],
                  [0, 0, 1, 1],
                  [0, 0, 0, 0]])  # fmt: skip
PREDICTED = np.array([[0, 0, 1, 1],
                      [0, 1, 1, 0],
                      [0, 0, 0, 1],
                      [0, 0, 0, 0]])  # fmt: skip


def test_confusion_matrix_counts_each_pair_of_classes() -> None:
    # background: 10 true, 9 right, 1 predicted building; building: 6 true, 4 right, 2 missed
    assert confusion_matrix(TRUTH, PREDICTED).tolist() == [[9, 1], [2, 4]]


def test_the_table_on_a_hand_made_chip() -> None:
    m = segmentation_metrics(confusion_matrix(TRUTH, PREDICTED))
    # TP 4, FP 1, FN 2, TN 9, N 16
    assert m.precision == pytest.approx(4 / 5)
    assert m.recall == pytest.approx(4 / 6)
    assert m.f1 == pytest.approx(2 * (4 / 5) * (4 / 6) / (4 / 5 + 4 / 6))
    assert m.pa == m.oa == pytest.approx(13 / 16)
    assert m.mpa == pytest.approx((9 / 10 + 4 / 6) / 2)
    # IoU background 9 / (10 + 11 - 9) = 9/12; building 4 / (6 + 5 - 4) = 4/7
    assert m.iou == pytest.approx((9 / 12, 4 / 7))
    assert m.miou == pytest.approx((9 / 12 + 4 / 7) / 2)
    assert m.pixels == 16
    assert m.as_percent() == {"precision": 80.0, "recall": 66.67, "f1": 72.73, "pa": 81.25,
                              "mpa": 78.33, "miou": 66.07, "oa": 81.25}  # fmt: skip


def test_matrices_of_chips_add_up_to_the_dataset() -> None:
    """Summed over chips, every pixel weighs the same: not the mean of per-chip figures."""
    empty = np.zeros((2, 2), dtype=int)  # a chip with no building, all predicted right
    cm = confusion_matrix(TRUTH, PREDICTED) + confusion_matrix(empty, empty)
    whole = np.concatenate([TRUTH.ravel(), empty.ravel()])
    guess = np.concatenate([PREDICTED.ravel(), empty.ravel()])
    assert cm.tolist() == confusion_matrix(whole, guess).tolist() == [[13, 1], [2, 4]]
    assert segmentation_metrics(cm).oa == pytest.approx(17 / 20)


def test_undefined_ratios_are_nan_and_left_out_of_the_means() -> None:
    background = np.zeros((3, 3), dtype=int)
    m = segmentation_metrics(confusion_matrix(background, background))
    assert math.isnan(m.precision) and math.isnan(m.recall) and math.isnan(m.f1)
    assert m.iou[0] == 1.0 and math.isnan(m.iou[1])
    assert m.miou == 1.0 and m.mpa == 1.0 and m.oa == 1.0


def test_f1_is_zero_when_every_building_is_missed() -> None:
    truth, predicted = np.array([1, 1, 0, 0]), np.array([0, 0, 1, 0])
    m = segmentation_metrics(confusion_matrix(truth, predicted))
    assert m.precision == 0.0 and m.recall == 0.0 and m.f1 == 0.0


def test_ignored_pixels_and_bad_codes() -> None:
    truth = np.array([1, 255, 0, 1])
    predicted = np.array([1, 1, 1, 0])
    assert confusion_matrix(truth, predicted, ignore=255).tolist() == [[0, 1], [1, 1]]
    with pytest.raises(ValueError, match=r"class codes outside 0\.\.1"):
        confusion_matrix(truth, predicted)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(truth, predicted[:3])
