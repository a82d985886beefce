"""Segmentation metrics of the seed's baseline table, from one confusion matrix.

Every metric is computed from the pixel confusion matrix ``cm[t, p]`` (pixels of true class ``t``
predicted as ``p``) summed over all evaluated chips, so a dataset's figures weigh every pixel
equally whatever the chip sizes. For the binary building task class 0 is background and class 1
building; ``positive`` names the class that precision, recall and F1 are about.

With TP, FP, FN the positive class's true positives, false positives and false negatives, N the
number of pixels and, per class c, ``cm[c, c]`` its correct pixels:

- Precision = TP / (TP + FP); Recall = TP / (TP + FN); F1 = 2 · TP / (2 · TP + FP + FN), their
  harmonic mean (0, not undefined, when TP = 0 but FP + FN > 0)
- PA (pixel accuracy) = Σ_c cm[c, c] / N
- mPA (mean pixel accuracy) = mean over classes of cm[c, c] / Σ_p cm[c, p] (each class's recall)
- mIoU = mean over classes of cm[c, c] / (Σ_p cm[c, p] + Σ_t cm[t, c] − cm[c, c])
- OA (overall accuracy) = Σ_c cm[c, c] / N: the seed's table reports PA and OA with equal values in
  every row, i.e. as the same quantity, and so does this module.

A ratio with a zero denominator (a class neither present nor predicted) is undefined: NaN, and left
out of the class means. All values are fractions in [0, 1]; `as_percent` gives the table's form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TABLE_COLUMNS", "SegmentationMetrics", "confusion_matrix", "segmentation_metrics"]

TABLE_COLUMNS = ("precision", "recall", "f1", "pa", "mpa", "miou", "oa")
"""The seed's column order: Precision, Recall, F-value, PA, mPA, mIoU, OA."""


@dataclass(frozen=True)
class SegmentationMetrics:
    precision: float
    recall: float
    f1: float
    pa: float
    mpa: float
    miou: float
    oa: float
    iou: tuple[float, ...]
    """IoU of each class, by class code."""
    pixels: int
    """Pixels evaluated (those not ignored)."""

    def as_percent(self) -> dict[str, float]:
        """The table's columns in percent, rounded to two decimals."""
        values = asdict(self)
        return {name: round(100 * values[name], 2) for name in TABLE_COLUMNS}


def confusion_matrix(
    truth: npt.ArrayLike, predicted: npt.ArrayLike, *, classes: int = 2, ignore: int | None = None
) -> npt.NDArray[np.int64]:
    """``cm[t, p]``: how many pixels of true class ``t`` are predicted as class ``p``.

    ``truth`` and ``predicted`` hold class codes 0 … classes − 1 and have one shape; pixels whose
    truth is ``ignore`` (e.g. a label's nodata) are left out. Other codes are an error."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth {truth.shape} and prediction {predicted.shape} differ in shape")
    keep = truth != ignore if ignore is not None else np.ones(truth.shape, dtype=bool)
    t, p = truth[keep].astype(np.int64), predicted[keep].astype(np.int64)
    for name, codes in (("truth", t), ("prediction", p)):
        if codes.size and (codes.min() < 0 or codes.max() >= classes):
            raise ValueError(f"{name} holds class codes outside 0..{classes - 1}")
    counts = np.bincount(t * classes + p, minlength=classes * classes)
    return counts.reshape(classes, classes)


def _ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> npt.NDArray[np.float64]:
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _mean(values: npt.NDArray[np.float64]) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def segmentation_metrics(cm: npt.ArrayLike, *, positive: int = 1) -> SegmentationMetrics:
    """The table's metrics of a confusion matrix (see the module's definitions)."""
    cm = np.asarray(cm, dtype=np.int64)
    diagonal, true_totals, predicted_totals = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    total = int(cm.sum())
    tp = diagonal[positive]
    precision = float(_ratio(tp, predicted_totals[positive]))
    recall = float(_ratio(tp, true_totals[positive]))
    f1 = float(
        _ratio(2 * tp, 2 * tp + (predicted_totals[positive] - tp) + (true_totals[positive] - tp))
    )
    accuracy = float(_ratio(diagonal.sum(), total))
    iou = _ratio(diagonal, true_totals + predicted_totals - diagonal)
    return SegmentationMetrics(
        precision=precision,
        recall=recall,
        f1=f1,
        pa=accuracy,
        mpa=_mean(_ratio(diagonal, true_totals)),
        miou=_mean(iou),
        oa=accuracy,
        iou=tuple(float(v) for v in iou),
        pixels=total,
    )
