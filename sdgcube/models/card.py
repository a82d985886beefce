"""A model's card: everything needed to rebuild, feed, judge and cite its weights.

The card travels inside the checkpoint with the weights and is published as the model's STAC item
(the MLM extension), so a model found in the catalog says what it was trained on and how well it
did. It is read from files a user may hand us, hence a pydantic model: a card that does not
validate is refused with the field at fault.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sdgcube.models.spec import Architecture, NetworkSpec

__all__ = ["BUILDING_CLASSES", "ClassLabel", "ModelCard", "Normalisation", "TrainingData"]

ModelId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassLabel(_Frozen):
    value: int
    name: str


BUILDING_CLASSES = (ClassLabel(value=0, name="background"), ClassLabel(value=1, name="building"))


class Normalisation(_Frozen):
    """Input scaling per band, on the stored values: ``(value − mean) / std``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]


class TrainingData(_Frozen):
    product: str
    labels_product: str
    label_band: str
    train_datasets: tuple[str, ...]
    """Dataset ids of the image product the model learnt from."""
    validation_datasets: tuple[str, ...]
    """Held out, by chip: the metrics below are theirs."""
    epochs: int
    best_epoch: int
    seed: int
    command: str
    """The command line that trained it (reproduces it on the same archive)."""


class ModelCard(_Frozen):
    id: ModelId
    title: str
    description: str = ""
    architecture: Architecture
    encoder: str
    encoder_depth: int = Field(5, ge=3, le=5)
    decoder_channels: int | None = Field(None, ge=8)
    bands: tuple[str, ...] = Field(min_length=1)
    """Input bands in channel order, by their names in the image product."""
    normalisation: Normalisation
    classes: tuple[ClassLabel, ...] = BUILDING_CLASSES
    chip_size: int = Field(ge=32)
    """Training chip side in pixels; inference windows are at least this large."""
    resolution_m: float = Field(gt=0)
    """Ground sample distance the model was trained at."""
    threshold: float = Field(0.5, gt=0, lt=1)
    """Default probability above which a pixel is building."""
    total_parameters: int = Field(ge=1)
    training: TrainingData | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    """Validation metrics as fractions (``sdgcube.models.metrics``)."""
    software: dict[str, str] = Field(default_factory=dict)
    created: datetime

    @model_validator(mode="after")
    def _one_scale_per_band(self) -> ModelCard:
        n = len(self.bands)
        if len(self.normalisation.mean) != n or len(self.normalisation.std) != n:
            raise ValueError(f"normalisation needs one mean and one std for each of the {n} bands")
        if any(s <= 0 for s in self.normalisation.std):
            raise ValueError("normalisation std must be positive")
        return self

    @property
    def network(self) -> NetworkSpec:
        return NetworkSpec(self.architecture, self.encoder, len(self.bands), self.encoder_depth,
                           self.decoder_channels)  # fmt: skip
