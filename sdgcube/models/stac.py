"""A model's STAC item: its card in the terms of the STAC Machine Learning Model (MLM) extension.

The item is what the archive's STAC catalog publishes next to the data a model reads, so a client
finds in one place what the model needs (bands, chip size, scaling), what it returns (one channel
of logits, a sigmoid away from the building probability) and how well it did (``sdgcube:metrics``).
The MLM part is checked against stac-model's pydantic models before it is returned: what we
publish is valid MLM or not published at all. The item has no geometry: a model is not a place
(STAC allows ``geometry: null`` and then forbids ``bbox``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from sdgcube.models.card import ModelCard

__all__ = [
    "ARTIFACT_TYPE",
    "MLM_SCHEMA",
    "MODEL_MEDIA_TYPE",
    "STAC_EXTENSIONS",
    "mlm_properties",
    "model_item",
]

MLM_SCHEMA = "https://stac-extensions.github.io/mlm/v1.6.0/schema.json"
"""The MLM version stac-model 0.7.0 implements (its ``SCHEMA_URI``)."""
STAC_EXTENSIONS = (
    MLM_SCHEMA,
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "https://stac-extensions.github.io/classification/v2.0.0/schema.json",
)
MODEL_MEDIA_TYPE = "application/octet-stream; framework=pytorch"
"""The MLM spec's recommended media type for a PyTorch ``.pt`` file."""
ARTIFACT_TYPE = "torch.save"

_ARCHITECTURE_NAMES = {"unet": "U-Net", "deeplabv3plus": "DeepLabV3+", "deeplabv3": "DeepLabV3",
                       "pspnet": "PSPNet", "fpn": "FPN", "segformer": "SegFormer"}  # fmt: skip
"""The names the literature uses, as MLM asks of ``mlm:architecture``."""


def _rfc3339(when: datetime) -> str:
    """STAC needs a time zone; a card written without one is taken as UTC."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _torch_version(card: ModelCard) -> str:
    """The version the model was trained with if the card says, else the installed one (read from
    the package metadata: importing torch for a version string costs a second)."""
    return card.software.get("torch") or metadata.version("torch")


def _model_input(card: ModelCard) -> dict[str, Any]:
    scaling = [{"type": "z-score", "mean": mean, "stddev": std}
               for mean, std in zip(card.normalisation.mean, card.normalisation.std, strict=True)]  # fmt: skip
    return {
        "name": "image",
        "bands": list(card.bands),
        "input": {
            "shape": [-1, len(card.bands), card.chip_size, card.chip_size],
            "dim_order": ["batch", "bands", "height", "width"],
            "data_type": "float32",
        },
        "description": f"Stored band values at {card.resolution_m:g} m, scaled per band; "
        f"windows of at least {card.chip_size} pixels",
        "value_scaling": scaling,
        "resize_type": None,
        "pre_processing_function": None,
    }


def _model_output(card: ModelCard) -> dict[str, Any]:
    return {
        "name": "logits",
        "tasks": ["semantic-segmentation"],
        "result": {
            "shape": [-1, 1, card.chip_size, card.chip_size],
            "dim_order": ["batch", "channel", "height", "width"],
            "data_type": "float32",
        },
        "description": f"One channel of logits; its sigmoid is the probability of the positive "
        f"class, which a pixel belongs to above {card.threshold:g}",
        "classification:classes": [label.model_dump() for label in card.classes],
        "post_processing_function": {"format": "python", "expression": "torch:sigmoid"},
    }


def _hyperparameters(card: ModelCard) -> dict[str, Any]:
    values = {"encoder": card.encoder, "encoder_depth": card.encoder_depth,
              "decoder_channels": card.decoder_channels, "chip_size": card.chip_size,
              "resolution_m": card.resolution_m, "threshold": card.threshold}  # fmt: skip
    return {name: value for name, value in values.items() if value is not None}


def mlm_properties(card: ModelCard) -> dict[str, Any]:
    """The ``mlm:*`` item properties of ``card``, checked by stac-model; ValueError if invalid."""
    from stac_model.schema import MLModelProperties

    properties: dict[str, Any] = {
        "mlm:name": card.title,
        "mlm:architecture": _ARCHITECTURE_NAMES.get(card.architecture, card.architecture),
        "mlm:tasks": ["semantic-segmentation"],
        "mlm:framework": "pytorch",
        "mlm:framework_version": _torch_version(card),
        # null: "the model does not require any specific accelerator" (it runs on CPU or CUDA).
        "mlm:accelerator": None,
        "mlm:accelerator_constrained": False,
        "mlm:total_parameters": card.total_parameters,
        "mlm:pretrained": False,
        # The spec asks for an explicit null when the model was trained from scratch.
        "mlm:pretrained_source": None,
        "mlm:input": [_model_input(card)],
        "mlm:output": [_model_output(card)],
        "mlm:hyperparameters": _hyperparameters(card),
    }
    try:
        MLModelProperties.model_validate(properties)
    except ValidationError as exc:
        raise ValueError(f"model {card.id!r} does not make valid MLM properties: {exc}") from None
    return properties


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: an undefined metric (a class never present) is published as null."""
    return {name: value if math.isfinite(value) else None for name, value in values.items()}


def model_item(
    card: ModelCard, weights_href: str, *, weights_bytes: int, weights_checksum: str | None = None
) -> dict[str, Any]:
    """The STAC 1.1 item of the model, with its weights as the ``weights`` asset at
    ``weights_href`` (relative to the item, so the folder can move); ``weights_checksum`` is a
    ``file:checksum`` multihash when known."""
    weights: dict[str, Any] = {
        "href": weights_href,
        "type": MODEL_MEDIA_TYPE,
        "title": f"{card.title}: card and weights (sdgcube checkpoint)",
        "roles": ["mlm:model", "mlm:weights", "mlm:checkpoint", "data"],
        "mlm:artifact_type": ARTIFACT_TYPE,
        "file:size": weights_bytes,
    }
    if weights_checksum is not None:
        weights["file:checksum"] = weights_checksum
    properties: dict[str, Any] = {"title": card.title, "datetime": _rfc3339(card.created)}
    if card.description:
        properties["description"] = card.description
    properties |= mlm_properties(card)
    properties |= {
        "sdgcube:training": card.training.model_dump(mode="json") if card.training else None,
        "sdgcube:metrics": _finite(card.metrics),
        "sdgcube:software": dict(card.software),
    }
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": card.id,
        "geometry": None,
        "properties": properties,
        "links": [],
        "assets": {"weights": weights},
    }
