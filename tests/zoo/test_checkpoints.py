"""One checkpoint format: written atomically, checked on load (format, parameters, weights), rebuilt if bad."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from torch import nn

from advgeom.cache import read_entry, write_entry
from advgeom.zoo import get_network
from advgeom.zoo.checkpoints import (
    CHECKPOINT_FORMAT,
    cached_network,
    checkpoint_bytes,
    checkpoint_dict,
    checkpoint_network,
    load_checkpoint,
    read_checkpoint,
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
    with pytest.raises(ValueError, match="net.pt: it was computed from another key"):
        load_checkpoint(path, {**PARAMS, "seed": 1}, _build)
    with pytest.raises(ValueError, match="was trained with other parameters"):  # the payload disagrees with its key
        read_checkpoint(checkpoint_bytes({**ckpt, "params": {**PARAMS, "seed": 1}}), PARAMS, _build)
    with pytest.raises(RuntimeError):  # weights that do not fit the architecture
        load_checkpoint(path, PARAMS, lambda: nn.Linear(3, 5))
    write_entry(tmp_path / "list.pt", PARAMS, checkpoint_bytes([1, 2, 3]))
    with pytest.raises(ValueError, match="list.pt: it is not an advgeom model checkpoint"):
        load_checkpoint(tmp_path / "list.pt", PARAMS, _build)
    torch.save(ckpt, tmp_path / "bare.pt")  # a bare torch file (the previous format) is no checked entry
    with pytest.raises(ValueError, match="bare.pt: it has no advgeom cache header"):
        load_checkpoint(tmp_path / "bare.pt", PARAMS, _build)


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
    with pytest.warns(UserWarning, match="computed from another key"):
        third = get_network("standard", **TINY_MODEL)
    for name, value in weights.items():
        torch.testing.assert_close(third.state_dict()[name], value)


def _rewrite(path: Path, change) -> None:
    """Change the checkpoint stored at ``path`` and store it again as a good entry (checksum and key right)."""
    ckpt = torch.load(io.BytesIO(read_entry(path, PARAMS)), weights_only=True)
    change(ckpt)
    write_entry(path, PARAMS, checkpoint_bytes(ckpt))


def _nan(ckpt: dict) -> None:
    ckpt["state_dict"]["0.weight"][0, 0] = float("nan")


def _zero(ckpt: dict) -> None:
    ckpt["state_dict"]["0.weight"].zero_()


DAMAGED = {
    "nan weights": (lambda p: _rewrite(p, _nan), "its weights '0.weight' are not all finite"),
    "zeroed weights": (lambda p: _rewrite(p, _zero), "its weights '0.weight' are all zero"),
    "no history": (lambda p: _rewrite(p, lambda c: c.pop("history")), "the checkpoint lacks ['history']"),
    "no params": (lambda p: _rewrite(p, lambda c: c.pop("params")), "the checkpoint lacks ['params']"),
    "edited": (lambda p: p.write_bytes(p.read_bytes()[:-5] + b"xxxxx"), "does not match its checksum"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:500]), "payload bytes, its header"),
    "folder": (lambda p: (p.unlink(), p.mkdir()), "a folder stands where the file should be"),
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_checkpoint_is_set_aside_and_retrained(tmp_path, monkeypatch, damage):
    """NaN or zeroed weights, a missing key, a cut or edited file, a folder in its place: reported in one line,
    moved aside, retrained; never used. (Zeroed biases of BatchNorm are fine: the untrained ones are zero too.)"""
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path))
    calls = []

    def train() -> dict:
        calls.append(1)
        torch.manual_seed(1)
        return checkpoint_dict(PARAMS, _build(), {"epochs": []})

    first = cached_network("toy", PARAMS, _build, train, torch.device("cpu"))
    make_damage, reason = DAMAGED[damage]
    make_damage(first.checkpoint_path)
    with pytest.warns(UserWarning) as record:
        again = cached_network("toy", PARAMS, _build, train, torch.device("cpu"))
    [warning] = [str(w.message) for w in record]
    assert str(first.checkpoint_path) in warning and reason in warning, warning
    assert calls == [1, 1] and first.checkpoint_path.with_name(first.checkpoint_path.name + ".damaged").exists()
    for (name, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    _rewrite(first.checkpoint_path, lambda c: c["state_dict"]["1.bias"].zero_())  # zero in the untrained net too
    cached_network("toy", PARAMS, _build, train, torch.device("cpu"))
    assert calls == [1, 1]
