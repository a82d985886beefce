"""The CUDA path: the same windows on the GPU (mixed precision) as on the CPU, and training steps
there. Skipped without CUDA (CI has none); run on a GPU machine when one is lent."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import torch

from sdgcube.datacube.demo.chips import make_chip
from sdgcube.models.architectures import build_network, count_parameters
from sdgcube.models.card import ModelCard, Normalisation
from sdgcube.models.checkpoint import LoadedModel
from sdgcube.models.inference import Segmenter
from sdgcube.models.spec import NetworkSpec
from sdgcube.models.training import TrainingConfig, train_network
from sdgcube.models.training_data import LabelledChip, band_statistics
from sdgcube.models.windows import Area, WindowGrid

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


def _model() -> LoadedModel:
    torch.manual_seed(0)
    network = build_network(NetworkSpec("deeplabv3plus", "resnet18", 3)).eval()
    card = ModelCard(id="gpu", title="gpu", architecture="deeplabv3plus", encoder="resnet18", bands=("r", "g", "b"),
                     normalisation=Normalisation(mean=(120.0,) * 3, std=(40.0,) * 3), chip_size=256,
                     resolution_m=0.5, total_parameters=count_parameters(network),
                     created=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    return LoadedModel(card, network)


def _scene(area: Area) -> np.ndarray:
    rows = np.arange(area.row, area.row + area.rows)[:, None]
    cols = np.arange(area.col, area.col + area.cols)[None, :]
    return np.stack([120 + 80 * np.sin(rows / 9 + k) * np.cos(cols / 7) for k in range(3)]).astype(
        np.float32
    )


def test_gpu_windows_match_the_cpu() -> None:
    model, area = _model(), Area(0, 0, 700, 600)
    grids = {}
    for name in ("cpu", "cuda"):
        model.network.to(name)
        segmenter = Segmenter(model, WindowGrid(512, 64), torch.device(name), batch_size=4)
        out = np.zeros((area.rows, area.cols), np.float32)
        for block, values in segmenter.probability(area, _scene):
            out[block.slices_in(area)] = values
        grids[name] = out
    model.network.to("cpu")
    assert np.abs(grids["cpu"] - grids["cuda"]).max() < 0.02  # float16 autocast on the GPU


def test_training_on_the_gpu_lowers_the_loss() -> None:
    made = [make_chip(np.random.default_rng([9, i])) for i in range(8)]
    chips = [
        LabelledChip(str(i), c.rgb.astype(np.float32), c.labels, 0.5) for i, c in enumerate(made)
    ]
    mean, std = band_statistics(chips)
    config = TrainingConfig(NetworkSpec("unet", "resnet18", 3, encoder_depth=4, decoder_channels=8), mean, std,
                            epochs=8, batch_size=8, crop=256, device="cuda", patience=99)  # fmt: skip
    result = train_network(chips[:6], chips[6:], config)
    assert result.history[-1].loss < 0.8 * result.history[0].loss
