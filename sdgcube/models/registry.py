"""The models a server can run: those shipped with sdgcube and those added to the archive.

An added model lives in ``<archive>/models/<id>/`` as ``model.pt`` (the checked checkpoint) and
``item.json`` (its STAC item, MLM extension), so the archive's STAC catalog lists the models next to
the data they read. Shipped models are ``<id>.pt`` files in the package's ``shipped`` folder;
`ModelRegistry.publish_shipped` copies them into the archive with their items, marked
``sdgcube:shipped``, so they are in the catalog too. A model in the archive wins over a shipped one
of the same id.

A folder is built beside the archive (`sdgcube.datacube.archive.staging_dir`) and renamed into
place when complete: a file that fails `load_model` leaves nothing behind, and the STAC browser
never sees half a model.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from sdgcube.datacube.archive import staging_dir
from sdgcube.datacube.cog import sha256_multihash
from sdgcube.errors import InvalidModel
from sdgcube.models.card import ModelCard
from sdgcube.models.checkpoint import FORMAT, LoadedModel, load_model, save_model
from sdgcube.models.stac import model_item

__all__ = [
    "DEFAULT_MODEL_ID",
    "ITEM_FILE",
    "MODELS_FOLDER",
    "SHIPPED_DIR",
    "WEIGHTS_FILE",
    "ModelEntry",
    "ModelRegistry",
    "read_card",
]

DEFAULT_MODEL_ID = "buildings-demo"
MODELS_FOLDER = "models"
"""The archive folder of the models (a product may not take this name)."""
WEIGHTS_FILE = "model.pt"
ITEM_FILE = "item.json"
SHIPPED_DIR = Path(__file__).with_name("shipped")
_SHIPPED_MARK = "sdgcube:shipped"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
"""A card's id pattern: checked before an id becomes a folder name."""


@dataclass(frozen=True)
class ModelEntry:
    id: str
    path: Path
    """The checkpoint to load."""
    card: ModelCard
    shipped: bool
    """Shipped with sdgcube (possibly as its published copy in the archive), not added by a user."""


def read_card(path: Path) -> ModelCard:
    """The card of a checkpoint, without building its network: the tensors are memory-mapped, not
    read. Only `load_model` checks that the weights fit the card."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidModel(f"{path} is not a readable torch checkpoint: {reason}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InvalidModel(f"{path} is not an sdgcube model (no {FORMAT!r} format marker)")
    try:
        return ModelCard.model_validate(content.get("card"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "card"
        raise InvalidModel(f"{path}: model card field {where!r}: {first['msg']}") from None


def _read_item(folder: Path) -> dict[str, Any] | None:
    try:
        item = json.loads((folder / ITEM_FILE).read_text())
    except (OSError, ValueError):
        return None
    return item if isinstance(item, dict) else None


def _is_published_copy(folder: Path) -> bool:
    item = _read_item(folder)
    return bool(item and item.get("properties", {}).get(_SHIPPED_MARK))


@dataclass(frozen=True)
class ModelRegistry:
    archive_dir: Path
    shipped_dir: Path = SHIPPED_DIR
    _loaded: dict[tuple[Path, int, int], LoadedModel] = field(default_factory=dict, init=False, repr=False, compare=False)  # fmt: skip
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)  # fmt: skip

    @property
    def models_dir(self) -> Path:
        return self.archive_dir / MODELS_FOLDER

    def _archived(self) -> dict[str, Path]:
        folders = sorted(self.models_dir.iterdir()) if self.models_dir.is_dir() else []
        return {f.name: f / WEIGHTS_FILE for f in folders if (f / WEIGHTS_FILE).is_file()}

    def _shipped(self) -> dict[str, Path]:
        files = sorted(self.shipped_dir.glob("*.pt")) if self.shipped_dir.is_dir() else []
        return {path.stem: path for path in files}

    def ids(self) -> list[str]:
        """Every known model id, sorted; reads no checkpoint."""
        return sorted(self._shipped().keys() | self._archived().keys())

    def entries(self) -> list[ModelEntry]:
        """Every model with its card, sorted by id; an archive model hides a shipped one."""
        shipped, archived = self._shipped(), self._archived()
        entries = []
        for model_id in sorted(shipped.keys() | archived.keys()):
            path = archived.get(model_id) or shipped[model_id]
            from_package = model_id not in archived or (
                model_id in shipped and _is_published_copy(path.parent)
            )
            entries.append(ModelEntry(model_id, path, read_card(path), from_package))
        return entries

    def path_of(self, model_id: str | None) -> Path:
        """The checkpoint of ``model_id`` (None: `DEFAULT_MODEL_ID`); InvalidModel if unknown."""
        model_id = DEFAULT_MODEL_ID if model_id is None else model_id
        if _ID.fullmatch(model_id):
            path = self._archived().get(model_id) or self._shipped().get(model_id)
            if path is not None:
                return path
        raise self._unknown(model_id)

    def _unknown(self, model_id: str) -> InvalidModel:
        return InvalidModel(
            f"unknown model {model_id!r}; known models: {', '.join(self.ids()) or 'none'}"
        )

    def card(self, model_id: str | None) -> ModelCard:
        """The card of ``model_id``, without building its network."""
        return read_card(self.path_of(model_id))

    def load(self, model_id: str | None) -> LoadedModel:
        """The checked model, loaded once per process while its file stays the same (a server's
        jobs share it: inference never changes a network in eval mode)."""
        path = self.path_of(model_id)
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load_model(path)
            return self._loaded[key]

    def add(self, path: Path, model_id: str | None = None, *, replace: bool = False) -> ModelEntry:
        """Check the model in ``path`` and copy it into the archive as ``model_id`` (default: its
        card's id). Nothing is written for a file `load_model` refuses, nor over an existing id
        unless ``replace``."""
        loaded = load_model(path)
        card = (
            loaded.card if model_id in (None, loaded.card.id) else _renamed(loaded.card, model_id)
        )
        if card.id in self.ids() and not replace:
            raise InvalidModel(f"model {card.id!r} exists already; replace it explicitly "
                               "(--replace) or choose another id (--id)")  # fmt: skip
        with _staged(self.archive_dir, card.id) as tmp:
            if card.id == loaded.card.id:
                shutil.copyfile(path, tmp / WEIGHTS_FILE)
            else:  # the card inside must say the id it is published under
                save_model(tmp / WEIGHTS_FILE, card, loaded.network)
            _write_item(tmp, card)
            _swap_in(tmp, self.models_dir / card.id)
        return ModelEntry(card.id, self.models_dir / card.id / WEIGHTS_FILE, card, shipped=False)

    def remove(self, model_id: str) -> None:
        """Delete a model added to the archive; a shipped one cannot be removed (a model added
        over a shipped id is, and the shipped one is published again)."""
        archived, shipped = self._archived(), self._shipped()
        if model_id in shipped and (
            model_id not in archived or _is_published_copy(archived[model_id].parent)
        ):
            raise InvalidModel(f"model {model_id!r} is shipped with sdgcube and cannot be removed")
        if model_id not in archived:
            raise self._unknown(model_id)
        _delete(self.archive_dir, archived[model_id].parent)
        if model_id in shipped:
            self.publish_shipped()

    def publish_shipped(self) -> list[str]:
        """Copy each shipped model with its item into the archive unless its copy is current (same
        size and modification time) or a model added by a user holds its id; the ids published.
        Cheap when there is nothing to do: two ``stat`` calls and a small JSON read per model."""
        published = []
        for model_id, source in self._shipped().items():
            folder = self.models_dir / model_id
            if (folder / WEIGHTS_FILE).is_file() and (
                not _is_published_copy(folder) or _same_file(source, folder / WEIGHTS_FILE)
            ):
                continue
            card = load_model(source).card
            if card.id != model_id:
                raise InvalidModel(f"shipped model {source.name} holds the card of {card.id!r}")
            with _staged(self.archive_dir, model_id) as tmp:
                shutil.copy2(source, tmp / WEIGHTS_FILE)  # copy2: the mtime tells it is current
                _write_item(tmp, card, shipped=True)
                try:
                    _swap_in(tmp, folder)
                except OSError:  # another server process published it at the same moment
                    continue
            published.append(model_id)
        return published


def _renamed(card: ModelCard, model_id: str) -> ModelCard:
    try:
        return ModelCard.model_validate(card.model_dump() | {"id": model_id})
    except ValidationError:
        raise InvalidModel(f"model id {model_id!r} must be lower-case letters, digits, '.', '_' "
                           "and '-', starting with a letter or digit (at most 80)") from None  # fmt: skip


def _same_file(a: Path, b: Path) -> bool:
    sa, sb = a.stat(), b.stat()
    return sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns


def _write_item(folder: Path, card: ModelCard, *, shipped: bool = False) -> None:
    weights = folder / WEIGHTS_FILE
    item = model_item(card, f"./{WEIGHTS_FILE}", weights_bytes=weights.stat().st_size,
                      weights_checksum=sha256_multihash(weights))  # fmt: skip
    if shipped:
        item["properties"][_SHIPPED_MARK] = True
    (folder / ITEM_FILE).write_text(json.dumps(item, indent=1))


def _staging_path(archive_dir: Path, label: str) -> Path:
    """``<staging>/<host>.<pid>.<label>``, the name `remove_abandoned_staging` recognises (and
    cleans up after a killed writer) once the label holds no dot."""
    name = f"{socket.gethostname()}.{os.getpid()}.{label.replace('.', '_')}"
    return staging_dir(archive_dir) / name


@contextmanager
def _staged(archive_dir: Path, model_id: str) -> Iterator[Path]:
    """A fresh staging folder for a model, removed on exit whatever happened (after a successful
    `_swap_in` it is gone already)."""
    path = _staging_path(archive_dir, f"model-{model_id}")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` onto ``final``; an existing ``final`` is moved aside first and then deleted,
    so a reader sees the old model or the new one, never a mixture."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = tmp.with_name(f"{tmp.name}-old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    try:
        tmp.rename(final)
    except OSError:
        if old.exists() and not final.exists():
            old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _delete(archive_dir: Path, folder: Path) -> None:
    """Move the folder out of the served archive first, so it disappears at once and whole."""
    doomed = _staging_path(archive_dir, f"removed-{folder.name}")
    doomed.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(doomed, ignore_errors=True)
    folder.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)
