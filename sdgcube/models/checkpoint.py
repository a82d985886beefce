"""Model files: the card and the weights in one torch checkpoint, checked before any use.

A checkpoint is ``{"format": FORMAT, "card": <card JSON>, "state_dict": <tensors>}`` saved with
``torch.save`` and read with ``weights_only=True``, so loading a file from a user runs no code of
theirs. `load_model` refuses, with one line naming the fault, a file that is not such a checkpoint,
a card that does not validate, and weights whose names or shapes do not fit the network the card
describes.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import ValidationError

from sdgcube.datacube.cog import atomic_path
from sdgcube.errors import InvalidModel
from sdgcube.models.architectures import build_network
from sdgcube.models.card import ModelCard

__all__ = ["FORMAT", "LoadedModel", "load_model", "save_model"]

FORMAT = "sdgcube-model/1"


@dataclass(frozen=True)
class LoadedModel:
    card: ModelCard
    network: torch.nn.Module
    """In eval mode, float32, on the CPU."""


def save_model(path: Path, card: ModelCard, network: torch.nn.Module) -> Path:
    """Write the checkpoint atomically (a temporary file renamed into place)."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in network.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(
            {"format": FORMAT, "card": card.model_dump(mode="json"), "state_dict": state}, tmp
        )
    return path


def _read(path: Path) -> dict[str, object]:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InvalidModel(f"model file {path} does not exist") from None
    except pickle.UnpicklingError:
        # torch's own text here advises loading with weights_only=False, which would run the file's code
        raise InvalidModel(f"{path} is not a readable torch checkpoint: it holds more than tensors and plain "
                           "values, or is not a checkpoint at all") from None  # fmt: skip
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidModel(f"{path} is not a readable torch checkpoint: {reason}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InvalidModel(f"{path} is not an sdgcube model (no {FORMAT!r} format marker)")
    return content


def _card(path: Path, raw: object) -> ModelCard:
    try:
        return ModelCard.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "card"
        raise InvalidModel(f"{path}: model card field {where!r}: {first['msg']}") from None


def _fit(path: Path, network: torch.nn.Module, state: object) -> None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InvalidModel(f"{path}: the weights are not a dictionary of tensors")
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        names = (missing or unexpected)[:3]
        raise InvalidModel(f"{path}: the weights do not fit the card's network "
                           f"({len(missing)} missing, {len(unexpected)} unexpected: {', '.join(names)})")  # fmt: skip
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise InvalidModel(f"{path}: weight {name!r} has shape {tuple(state[name].shape)}, "
                               f"the card's network needs {tuple(tensor.shape)}")  # fmt: skip
        if not torch.isfinite(state[name].float()).all():
            raise InvalidModel(f"{path}: weight {name!r} holds NaN or infinite values")
    network.load_state_dict(state, strict=True)


def load_model(path: Path) -> LoadedModel:
    """The checked model in ``path``; InvalidModel says what is wrong with it."""
    content = _read(path)
    card = _card(path, content.get("card"))
    try:
        network = build_network(card.network)
    except ValueError as exc:
        raise InvalidModel(f"{path}: {exc}") from None
    _fit(path, network, content.get("state_dict"))
    if card.total_parameters != sum(p.numel() for p in network.parameters()):
        raise InvalidModel(f"{path}: the card counts {card.total_parameters} parameters, the weights hold "
                           f"{sum(p.numel() for p in network.parameters())}")  # fmt: skip
    # channels-last weights, like the batches predict_probability makes: oneDNN's fastest layout
    return LoadedModel(card, network.float().eval().to(memory_format=torch.channels_last))
