"""Networks built from a spec: every encoder depth the card allows builds (smp's U-Net needs help)."""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import torch

from sdgcube.models.architectures import NetworkSpec, build_network


@pytest.mark.parametrize("depth", [3, 4])
def test_unet_below_depth_5_takes_the_last_widths_of_smps_default_decoder(depth):
    network = build_network(NetworkSpec("unet", "resnet18", 3, encoder_depth=depth)).eval()
    reference = smp.Unet("resnet18", encoder_weights=None, in_channels=3, classes=1,
                         encoder_depth=depth, decoder_channels=(256, 128, 64, 32, 16)[-depth:])  # fmt: skip
    for k in range(depth, 5):  # the stages smp keeps but never calls
        delattr(reference.encoder, f"layer{k}")
    shapes = {name: tuple(t.shape) for name, t in network.state_dict().items()}
    assert shapes == {name: tuple(t.shape) for name, t in reference.state_dict().items()}
    with torch.no_grad():
        assert network(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 64, 64)
