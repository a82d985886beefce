"""Windowed inference: the same pixels whatever the area, the strips or the batch; no data stays none."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import torch

from sdgcube.models.architectures import build_network, count_parameters
from sdgcube.models.card import ModelCard, Normalisation
from sdgcube.models.checkpoint import LoadedModel
from sdgcube.models.inference import Segmenter
from sdgcube.models.spec import NetworkSpec
from sdgcube.models.windows import Area, WindowGrid


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    torch.manual_seed(3)
    spec = NetworkSpec("unet", "resnet18", 3, encoder_depth=3)
    network = build_network(spec).eval()
    card = ModelCard(id="tiny", title="tiny", architecture="unet", encoder="resnet18", encoder_depth=3,
                     bands=("r", "g", "b"), normalisation=Normalisation(mean=(100.0,) * 3, std=(40.0,) * 3),
                     chip_size=64, resolution_m=0.5, total_parameters=count_parameters(network),
                     created=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    return LoadedModel(card, network)


def scene(area: Area) -> np.ndarray:
    """A deterministic image of the whole infinite grid: values depend on absolute row and col."""
    rows = np.arange(area.row, area.row + area.rows)[:, None]
    cols = np.arange(area.col, area.col + area.cols)[None, :]
    bands = [128 + 100 * np.sin(rows / 7.0 + k) * np.cos(cols / 5.0 - k) for k in range(3)]
    image = np.stack(bands).astype(np.float32)
    image[:, (rows >= 150) & (cols < 20) | (rows < -1000)] = np.nan  # a hole with no data
    return image


def run(model: LoadedModel, area: Area, **options: int) -> dict[tuple[int, int], float]:
    segmenter = Segmenter(model, WindowGrid(64, 16), torch.device("cpu"), **options)
    out = np.full((area.rows, area.cols), -1.0, np.float32)
    for block, values in segmenter.probability(area, scene):
        out[block.slices_in(area)] = values
    return out


def test_blocks_tile_the_area_exactly(model: LoadedModel) -> None:
    out = run(model, Area(3, -5, 170, 90), strip_windows=2)
    assert not (out == -1).any()
    finite = out[np.isfinite(out)]
    assert finite.min() >= 0 and finite.max() <= 1
    assert np.isnan(out[150 - 3 :, : 20 + 5]).all()  # no image: no probability
    assert np.isfinite(out[: 150 - 3]).all()


def test_a_sub_area_equals_the_same_pixels_of_a_larger_run(model: LoadedModel) -> None:
    large = Area(0, 0, 200, 160)
    sub = Area(37, 61, 55, 70)  # not on any window or strip boundary
    whole = run(model, large, strip_windows=2, batch_size=4)
    part = run(model, sub, strip_windows=3, batch_size=4)
    np.testing.assert_array_equal(part, whole[sub.slices_in(large)])


def test_strip_width_does_not_change_the_result(model: LoadedModel) -> None:
    area = Area(10, 10, 120, 150)
    np.testing.assert_array_equal(
        run(model, area, strip_windows=1), run(model, area, strip_windows=50)
    )


def test_window_size_must_suit_the_encoder(model: LoadedModel) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        Segmenter(model, WindowGrid(72, 8), torch.device("cpu"))


def test_windows_whose_cell_holds_no_data_are_not_run(model: LoadedModel) -> None:
    """Rows above −1000 hold no data: the row of windows at −1056, whose cells (−1056 … −1009) lie
    there, is skipped; the rows they overlapped (−1000 … −993) are still predicted, by the next row."""
    calls: list[int] = []
    hook = model.network.register_forward_hook(lambda _m, args, _o: calls.append(len(args[0])))
    area = Area(-1000, 0, 100, 100)
    try:
        edge = run(model, area)
    finally:
        hook.remove()
    starts = list(WindowGrid(64, 16).windows(area))
    assert sum(calls) == len([w for w in starts if w.row != -1056]) == len(starts) - 4
    assert not np.isnan(edge).any() and edge.min() >= 0 and edge.max() <= 1
