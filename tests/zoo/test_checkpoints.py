"""One checkpoint format: written atomically, checked on load (format, parameters, weights), rebuilt if bad."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from advgeom.zoo import get_network
from advgeom.zoo.checkpoints import (
    CHECKPOINT_FORMAT,
    cached_network,
    checkpoint_dict,
    checkpoint_network,
    load_checkpoint,
    save_checkpoint,
)

TINY_MODEL = {"train_size": 20, "epochs": 1, "progress": False}
PARAMS = {"format": CHECKPOINT_FORMAT, "model": {"width": 3}, "seed": 0}


def _build() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_round_trip_and_checks(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = _build()
    ckpt = checkpoint_dict(PARAMS, net, {"epochs": [], "train_seconds": 1.5})
    assert all(v.device.type == "cpu" and not v.requires_grad for v in ckpt["state_dict"].values())
    path = tmp_path / "net.pt"
    save_checkpoint(ckpt, path)
    loaded = load_checkpoint(path, {**PARAMS, "model": {"width": 3}}, _build)  # equal, not identical, params
    back = checkpoint_network(loaded, _build, path, torch.device("cpu"))
    assert not back.training and back.checkpoint_path == path and back.train_history["train_seconds"] == 1.5
    for (k, a), b in zip(net.state_dict().items(), back.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="was trained with other parameters"):
        load_checkpoint(path, {**PARAMS, "seed": 1}, _build)
    with pytest.raises(RuntimeError):  # weights that do not fit the architecture
        load_checkpoint(path, PARAMS, lambda: nn.Linear(3, 5))
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="is not an advgeom model checkpoint"):
        load_checkpoint(tmp_path / "list.pt", PARAMS, _build)


def test_cached_network_trains_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path))
    calls = []

    def train() -> dict:
        calls.append(1)
        torch.manual_seed(1)
        return checkpoint_dict(PARAMS, _build(), {"epochs": []})

    first = cached_network("toy", PARAMS, _build, train, torch.device("cpu"))
    second = cached_network("toy", PARAMS, _build, train, torch.device("cpu"))
    assert calls == [1] and first.checkpoint_path == second.checkpoint_path
    assert first.checkpoint_path.parent == tmp_path / "toy"
    assert not list((tmp_path / "toy").glob(".*"))  # no temporaries left


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_corrupt_or_mismatched_model_checkpoint_is_retrained(fresh_cache):
    net = get_network("standard", **TINY_MODEL)
    ckpt = Path(net.checkpoint_path)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # a download or copy cut short
    with pytest.warns(UserWarning, match="unreadable"):
        again = get_network("standard", **TINY_MODEL)
    for name, value in weights.items():  # seeded training: the rebuilt model is the same model
        torch.testing.assert_close(again.state_dict()[name], value)
    other = get_network("standard", seed=1, **TINY_MODEL)
    Path(other.checkpoint_path).replace(ckpt)  # a checkpoint of other parameters at this model's path
    with pytest.warns(UserWarning, match="trained with other parameters"):
        third = get_network("standard", **TINY_MODEL)
    for name, value in weights.items():
        torch.testing.assert_close(third.state_dict()[name], value)
