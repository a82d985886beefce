"""The model registry: checked adds that round-trip, refusals that write nothing, shipped models
published once, valid MLM items, and the ``sdgcube models`` commands."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from sdgcube.cli.app import app
from sdgcube.datacube.cog import sha256_multihash
from sdgcube.errors import IngestError, InvalidModel
from sdgcube.models.architectures import build_network, count_parameters
from sdgcube.models.card import ModelCard, Normalisation
from sdgcube.models.checkpoint import FORMAT, save_model
from sdgcube.models.registry import (
    DEFAULT_MODEL_ID,
    ModelRegistry,
    read_card,
)
from sdgcube.models.stac import model_item

BANDS = ("red", "green", "blue")


def make_card(**changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "id": "tiny", "title": "Tiny U-Net", "architecture": "unet", "encoder": "resnet18",
        "encoder_depth": 3, "bands": BANDS,
        "normalisation": Normalisation(mean=(100.0, 110.0, 120.0), std=(10.0, 11.0, 12.0)),
        "chip_size": 64, "resolution_m": 0.5, "total_parameters": 884_113,
        "metrics": {"miou": 0.625, "f1": 0.5}, "software": {"torch": torch.__version__},
        "created": datetime(2026, 3, 1, 12, tzinfo=UTC),
    }  # fmt: skip
    return ModelCard.model_validate(fields | changes)


@pytest.fixture(scope="module")
def network() -> torch.nn.Module:
    torch.manual_seed(7)
    net = build_network(make_card().network).eval()
    assert count_parameters(net) == make_card().total_parameters
    return net


@pytest.fixture(scope="module")
def model_file(network: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(tmp_path_factory.mktemp("model") / "tiny.pt", make_card(), network)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    (tmp_path / "shipped").mkdir()
    return ModelRegistry(tmp_path / "archive", tmp_path / "shipped")


def nothing_written(registry: ModelRegistry) -> bool:
    staging = registry.archive_dir.with_name("archive.staging")
    return not any(registry.models_dir.glob("*")) and not any(staging.glob("*"))


def fixed_input() -> torch.Tensor:
    return torch.linspace(-2, 2, 3 * 64 * 64).reshape(1, 3, 64, 64)


def test_add_then_load_gives_the_same_outputs(registry, model_file, network):
    entry = registry.add(model_file)
    assert entry.id == "tiny" and not entry.shipped
    assert entry.path == registry.archive_dir / "models" / "tiny" / "model.pt"
    assert entry.path.read_bytes() == model_file.read_bytes()
    loaded = registry.load("tiny")
    network = network.to(memory_format=torch.channels_last)  # as loaded: the same kernels run
    with torch.no_grad():
        assert torch.equal(loaded.network(fixed_input()), network(fixed_input()))
    assert loaded.card == make_card()
    assert [(e.id, e.shipped, e.card) for e in registry.entries()] == [("tiny", False, make_card())]
    item = json.loads((entry.path.parent / "item.json").read_text())
    assert item["id"] == "tiny" and item["assets"]["weights"]["href"] == "./model.pt"
    assert item["assets"]["weights"]["file:size"] == model_file.stat().st_size
    assert item["assets"]["weights"]["file:checksum"] == sha256_multihash(model_file)
    assert not any(registry.archive_dir.with_name("archive.staging").glob("*"))


def test_add_under_another_id_rewrites_the_card_inside(registry, model_file, network):
    entry = registry.add(model_file, "tiny-2")
    assert read_card(entry.path) == make_card(id="tiny-2")
    with torch.no_grad():
        assert torch.equal(registry.load("tiny-2").network(fixed_input()), network(fixed_input()))
    with pytest.raises(InvalidModel, match=r"model id '\.\./up'"):
        registry.add(model_file, "../up")


def test_add_refuses_an_existing_id_unless_replacing(registry, model_file, network, tmp_path):
    registry.add(model_file)
    with pytest.raises(InvalidModel, match=r"'tiny' exists already.*--replace"):
        registry.add(model_file)
    better = save_model(tmp_path / "better.pt", make_card(title="Better"), network)
    assert registry.add(better, replace=True).card.title == "Better"
    assert registry.load("tiny").card.title == "Better"
    registry.remove("tiny")
    assert registry.ids() == [] and not (registry.models_dir / "tiny").exists()


def _checkpoint(path: Path, card: dict[str, object], state: object) -> Path:
    torch.save({"format": FORMAT, "card": card, "state_dict": state}, path)
    return path


def _bad_files(tmp: Path, model_file: Path, network: torch.nn.Module) -> dict[str, Path]:
    state = network.state_dict()
    truncated = tmp / "truncated.pt"
    truncated.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    text = tmp / "notes.pt"
    text.write_text("not a model\n")
    foreign = tmp / "foreign.pt"
    torch.save({"weights": state}, foreign)
    four_bands = make_card(bands=("nir", *BANDS),
                           normalisation=Normalisation(mean=(0, 0, 0, 0), std=(1, 1, 1, 1)))  # fmt: skip
    return {
        "truncated": truncated,
        "text": text,
        "foreign": foreign,
        "bad card": _checkpoint(tmp / "card.pt", make_card().model_dump(mode="json") | {"chip_size": 8}, state),
        "deeper card": _checkpoint(tmp / "deeper.pt", make_card(encoder_depth=4).model_dump(mode="json"), state),
        "more bands": _checkpoint(tmp / "bands.pt", four_bands.model_dump(mode="json"), state),
        "parameter count": _checkpoint(tmp / "count.pt", make_card(total_parameters=1000).model_dump(mode="json"), state),
    }  # fmt: skip


BAD_FILE_MESSAGES = {
    "truncated": r"truncated\.pt is not a readable torch checkpoint",
    "text": r"notes\.pt is not a readable torch checkpoint",
    "foreign": r"is not an sdgcube model \(no 'sdgcube-model/1' format marker\)",
    "bad card": r"model card field 'chip_size': Input should be greater than or equal to 32",
    "deeper card": r"do not fit the card's network \(\d+ missing, 0 unexpected: decoder\.blocks\.3\.",
    "more bands": r"weight 'encoder\.conv1\.weight' has shape \(64, 3, 7, 7\), the card's network needs \(64, 4, 7, 7\)",
    "parameter count": r"the card counts 1000 parameters, the weights hold 884113",
}  # fmt: skip


@pytest.mark.parametrize("kind", list(BAD_FILE_MESSAGES))
def test_a_bad_file_is_refused_and_nothing_is_written(
    kind, registry, model_file, network, tmp_path
):
    bad = _bad_files(tmp_path, model_file, network)[kind]
    with pytest.raises(InvalidModel, match=BAD_FILE_MESSAGES[kind]) as caught:
        registry.add(bad)
    assert "\n" not in str(caught.value)
    assert nothing_written(registry)
    assert registry.ids() == []


def test_an_unknown_id_names_the_known_ones(registry, model_file):
    with pytest.raises(InvalidModel, match=r"unknown model 'buildings-demo'; known models: none"):
        registry.path_of(None)
    registry.add(model_file)
    registry.add(model_file, "tiny-b")
    for wrong in ("nope", "../models/tiny", ""):
        with pytest.raises(InvalidModel, match=r"; known models: tiny, tiny-b$"):
            registry.path_of(wrong)
    with pytest.raises(InvalidModel, match=r"unknown model 'nope'; known models: tiny, tiny-b"):
        registry.remove("nope")


def test_shipped_models_are_published_once_and_cannot_be_removed(registry, network):
    shipped = save_model(registry.shipped_dir / f"{DEFAULT_MODEL_ID}.pt",
                         make_card(id=DEFAULT_MODEL_ID), network)  # fmt: skip
    assert registry.path_of(None) == shipped
    assert [(e.id, e.shipped, e.path) for e in registry.entries()] == [
        (DEFAULT_MODEL_ID, True, shipped)
    ]
    assert registry.publish_shipped() == [DEFAULT_MODEL_ID]
    copy = registry.models_dir / DEFAULT_MODEL_ID / "model.pt"
    assert copy.read_bytes() == shipped.read_bytes()
    assert registry.path_of(None) == copy
    assert [(e.id, e.shipped) for e in registry.entries()] == [(DEFAULT_MODEL_ID, True)]
    item = json.loads((copy.parent / "item.json").read_text())
    assert item["properties"]["sdgcube:shipped"] is True
    assert registry.publish_shipped() == []  # current: nothing done
    os.utime(shipped, ns=(shipped.stat().st_atime_ns, shipped.stat().st_mtime_ns + 10**9))
    assert registry.publish_shipped() == [DEFAULT_MODEL_ID]  # the package was updated
    with pytest.raises(InvalidModel, match="shipped with sdgcube and cannot be removed"):
        registry.remove(DEFAULT_MODEL_ID)


def test_a_model_added_over_a_shipped_id_wins_and_its_removal_restores_the_shipped(
    registry, network, tmp_path
):
    save_model(
        registry.shipped_dir / f"{DEFAULT_MODEL_ID}.pt", make_card(id=DEFAULT_MODEL_ID), network
    )
    registry.publish_shipped()
    mine = save_model(tmp_path / "mine.pt", make_card(id=DEFAULT_MODEL_ID, title="Mine"), network)
    with pytest.raises(InvalidModel, match="exists already"):
        registry.add(mine)
    registry.add(mine, replace=True)
    assert registry.publish_shipped() == []  # a user's model is left alone
    assert [(e.card.title, e.shipped) for e in registry.entries()] == [("Mine", False)]
    registry.remove(DEFAULT_MODEL_ID)
    assert [(e.card.title, e.shipped) for e in registry.entries()] == [("Tiny U-Net", True)]
    assert (registry.models_dir / DEFAULT_MODEL_ID / "item.json").is_file()


def test_the_item_is_valid_mlm_and_valid_stac(model_file):
    from pystac.validation import validate_dict
    from stac_model.schema import MLModelProperties

    card = make_card(metrics={"miou": 0.625, "iou_building": float("nan")})
    item = model_item(card, "./model.pt", weights_bytes=1234)
    mlm = MLModelProperties.model_validate(item["properties"])
    assert mlm.total_parameters == 884_113 and mlm.pretrained is False
    assert mlm.accelerator is None and mlm.accelerator_constrained is False
    (model_input,) = mlm.input
    assert list(model_input.bands) == list(BANDS)
    assert model_input.input.shape == [-1, 3, 64, 64]
    assert [(s.mean, s.stddev) for s in model_input.value_scaling] == [
        (100, 10),
        (110, 11),
        (120, 12),
    ]
    (output,) = mlm.output
    assert [c.name for c in output.classes] == ["background", "building"]
    assert item["properties"]["datetime"] == "2026-03-01T12:00:00Z"
    assert item["properties"]["sdgcube:metrics"] == {"miou": 0.625, "iou_building": None}
    assert item["geometry"] is None and "bbox" not in item
    assert item["assets"]["weights"]["roles"][0] == "mlm:model"
    # Core STAC only: pystac bundles the core schemas, the extensions' would need the network.
    assert validate_dict(json.loads(json.dumps(item, allow_nan=False)), extensions=[])


def test_the_archive_catalog_takes_the_models_folder_as_a_collection(registry, model_file):
    from sdgcube.datacube.indexing import write_archive_catalog

    registry.add(model_file)
    catalog = write_archive_catalog(registry.archive_dir)
    (collection,) = catalog.get_children()
    assert collection.id == "models"
    assert [item.id for item in collection.get_items()] == ["tiny"]


def test_ingest_refuses_the_product_name_models():
    from sdgcube.datacube.ingest import plan_ingest

    with pytest.raises(IngestError, match="'models' is reserved"):
        plan_ingest(None, [], "models")  # type: ignore[arg-type]  # refused before the index is used


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, ["models", *args])


def test_cli_adds_lists_shows_and_removes(tmp_path, model_file):
    data = ["--data-dir", str(tmp_path)]
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(model_file.read_bytes()[:1000])
    bad = _cli("add", str(corrupt), *data)
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "is not a readable torch checkpoint" in bad.stderr
    done = _cli("add", str(model_file), "--id", "mine", *data)
    assert done.exit_code == 0, done.output
    listed = _cli("list", *data)
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == ["id", "architecture", "encoder", "bands", "chip", "mIoU", "source"]
    assert ["mine", "unet", "resnet18", "red,green,blue", "64", "62.5", "archive"] in rows
    shown = _cli("show", "mine", *data)
    assert json.loads(shown.stdout)["id"] == "mine"
    unknown = _cli("show", "nope", *data)
    assert unknown.exit_code == 2 and "known models:" in unknown.stderr
    assert "mine" in unknown.stderr
    assert _cli("remove", "mine", *data).exit_code == 0
    assert "mine" not in _cli("list", *data).stdout
