"""What names a segmentation network: architecture, encoder, depth and width (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ARCHITECTURES", "Architecture", "NetworkSpec"]

Architecture = Literal["deeplabv3plus", "deeplabv3", "unet", "pspnet", "fpn", "segformer"]
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)


@dataclass(frozen=True)
class NetworkSpec:
    architecture: str
    encoder: str
    """An smp encoder name, e.g. ``resnet18``, ``mobilenet_v2``, ``mit_b0`` (SegFormer)."""
    in_channels: int
    encoder_depth: int = 5
    """Encoder stages used (3–5); fewer stages run faster and, for ResNets, weigh less."""
    decoder_channels: int | None = None
    """Decoder width (UNet: of its last block, doubling upwards); None: smp's default."""
