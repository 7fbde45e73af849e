"""Robustness, what is left for the analysis side: bad protocol values and a corrupted geometry cache.

The rest moved to the files of the modules it tests: bad zoo / model values to tests/zoo/test_vision.py and
tests/models/test_imagenet.py, attack arguments to tests/test_attacks.py, data folders and idx files to
tests/data/test_vision.py, damaged caches and killed atomic writes to tests/test_cache.py, model checkpoints to
tests/zoo/test_checkpoints.py and tests/zoo/test_imagenet.py, the command line to tests/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from advgeom.analysis import Protocol, cached_manifold_geometry
from advgeom.zoo import get_network

TINY_MODEL = {"train_size": 20, "epochs": 1, "progress": False}


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: Protocol(norm="l3"), "norm='l3' is not allowed"),
        (lambda: Protocol(eps=-0.1), "eps=-0.1 is too small"),
        (lambda: Protocol(n_t=2.5), "n_t must be an integer"),
    ],
)
def test_api_bad_values_are_named(call, fragment):
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_corrupt_geometry_cache_is_recomputed(fresh_cache):
    net = get_network("standard", **TINY_MODEL)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    protocol = Protocol(n_t=20, width=50)
    first = cached_manifold_geometry(net, x, y, protocol, ["pixels", "logits"])
    [path] = list((fresh_cache / "geometry").glob("*.csv"))
    path.write_text("layer,capacity\npixels,not-a-number\n")
    with pytest.warns(UserWarning, match="unreadable"):
        again = cached_manifold_geometry(net, x, y, protocol, ["pixels", "logits"])
    assert again["capacity"].tolist() == pytest.approx(first["capacity"].tolist())
