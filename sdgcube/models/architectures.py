"""The segmentation networks sdgcube trains and serves, built by segmentation-models-pytorch.

A network is named by its architecture, its encoder and the encoder's depth; ``build_network``
is the one place that turns that description into a torch module, so a checkpoint's card always
rebuilds exactly the module its weights came from. Nothing is downloaded: ``encoder_weights`` is
always None (weights come from our own training or from the user).

The output is one channel of logits (binary building segmentation, sigmoid for probability).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import segmentation_models_pytorch as smp
import torch

__all__ = ["ARCHITECTURES", "Architecture", "NetworkSpec", "build_network", "count_parameters"]

Architecture = Literal["deeplabv3plus", "deeplabv3", "unet", "pspnet", "fpn", "segformer"]
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)

_CLASSES: dict[str, type[torch.nn.Module]] = {
    "deeplabv3plus": smp.DeepLabV3Plus,
    "deeplabv3": smp.DeepLabV3,
    "unet": smp.Unet,
    "pspnet": smp.PSPNet,
    "fpn": smp.FPN,
    "segformer": smp.Segformer,
}
_DECODER_CHANNELS_ARGUMENT = {"deeplabv3plus": "decoder_channels", "deeplabv3": "decoder_channels",
                              "fpn": "decoder_segmentation_channels",
                              "segformer": "decoder_segmentation_channels"}  # fmt: skip
"""Architectures whose decoder width is one number, and smp's name for it."""
_UNET_DECODER_CHANNELS = (256, 128, 64, 32, 16)
"""smp's default U-Net decoder, one width per encoder stage, deepest first."""


@dataclass(frozen=True)
class NetworkSpec:
    architecture: str
    encoder: str
    """An smp encoder name, e.g. ``resnet18``, ``mobilenet_v2``, ``mit_b0`` (SegFormer)."""
    in_channels: int
    encoder_depth: int = 5
    """Encoder stages used (3–5); fewer stages run faster and, for ResNets, weigh less."""
    decoder_channels: int | None = None
    """Decoder width where the architecture has one; None: smp's default."""


def build_network(spec: NetworkSpec) -> torch.nn.Module:
    """The untrained module ``spec`` describes; ValueError names what smp refuses."""
    if spec.architecture not in _CLASSES:
        raise ValueError(
            f"architecture {spec.architecture!r} is not one of {', '.join(ARCHITECTURES)}"
        )
    options: dict[str, Any] = {"encoder_name": spec.encoder, "encoder_weights": None,
                               "in_channels": spec.in_channels, "classes": 1}  # fmt: skip
    if spec.encoder_depth != 5:
        options["encoder_depth"] = spec.encoder_depth
        if spec.architecture == "unet":
            # smp's Unet refuses a depth other than 5 unless given one decoder width per stage; the
            # default's last ones keep its 16-channel head and stay narrower than the encoder.
            options["decoder_channels"] = _UNET_DECODER_CHANNELS[-spec.encoder_depth :]
    if spec.decoder_channels is not None:
        name = _DECODER_CHANNELS_ARGUMENT.get(spec.architecture)
        if name is None:
            raise ValueError(f"architecture {spec.architecture!r} takes no decoder width")
        options[name] = spec.decoder_channels
    try:
        network = _CLASSES[spec.architecture](**options)
    except (KeyError, ValueError, TypeError, AssertionError) as exc:
        raise ValueError(f"{spec.architecture} with encoder {spec.encoder!r}: {exc}") from None
    _drop_unused_stages(network, spec.encoder_depth)
    return network


def _drop_unused_stages(network: torch.nn.Module, depth: int) -> None:
    """smp keeps a ResNet's deeper stages even when ``encoder_depth`` leaves them unused; dropping
    them takes ResNet-18 at depth 4 from 11 to 3 million parameters (smp's forward never calls
    ``layer{k}`` for k ≥ depth)."""
    encoder = getattr(network, "encoder", None)
    for k in range(max(depth, 1), 5):
        if encoder is not None and isinstance(getattr(encoder, f"layer{k}", None), torch.nn.Module):
            delattr(encoder, f"layer{k}")


def count_parameters(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
