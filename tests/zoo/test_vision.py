"""The vision zoo: the four networks by name, their architectures and configs, the cached trained getter."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
import torch

import advgeom.train as train_mod
from advgeom.cache import ENTRY_MAGIC, write_entry
from advgeom.models import is_stochastic, noise_modules
from advgeom.zoo import build_network, get_network, list_networks
from advgeom.zoo.checkpoints import checkpoint_bytes
from advgeom.zoo.vision import RECIPES, build_model, model_config, training_recipe

VISION_ZOO = ["standard", "adversarial", "vone", "vone_nonoise"]


def test_variants_by_name() -> None:
    assert list_networks("vision", source="trained") == VISION_ZOO == list(RECIPES)
    with pytest.raises(ValueError, match=r"name='resnet'.*'standard', 'adversarial', 'vone', 'vone_nonoise'"):
        build_network("resnet")
    torch.manual_seed(0)
    nets = {v: build_network(v).eval() for v in VISION_ZOO}
    x = torch.rand(4, 1, 28, 28)
    for name, net in nets.items():
        assert net(x).shape == (4, 10), name
    assert is_stochastic(nets["vone"]) and not is_stochastic(nets["vone_nonoise"])
    assert not noise_modules(nets["standard"])
    # same front end in vone and vone_nonoise, noise scale 0 in the control
    assert torch.equal(nets["vone"].vone.q0, nets["vone_nonoise"].vone.q0)
    assert noise_modules(nets["vone_nonoise"])[0].scale == 0.0
    assert model_config("vone", noise_scale=2.5)["noise_scale"] == 2.5
    with pytest.raises(ValueError, match="noise_scale"):
        model_config("standard", noise_scale=1.0)
    with pytest.raises(ValueError, match="noise_scale=-1"):
        model_config("vone", noise_scale=-1)
    with pytest.raises(ValueError, match="dataset='mnist'"):
        model_config("vone", "mnist")
    assert build_network("vone", dataset="cifar10")(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert noise_modules(build_network("vone", noise_scale=0.5))[0].scale == 0.5
    with pytest.raises(ValueError, match="has no option 'noise_scale'"):
        build_network("standard", noise_scale=0.5)


def test_build_network_is_build_model() -> None:
    """The registered architecture is zoo.vision.build_model's, drawing the same weights from the same seed."""
    for name in VISION_ZOO:
        torch.manual_seed(3)
        a = build_network(name, dataset="cifar10")
        torch.manual_seed(3)
        b = build_model(name, "cifar10")
        assert a.config == b.config == model_config(name, "cifar10")
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(va, vb), (name, k)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: build_model("standard", "mnist"), "dataset='mnist' is not allowed"),
        (lambda: model_config("standard", noise_scale=0.5), "applies to vone variants only"),
        (lambda: model_config("vone", noise_mode="poisson"), "noise_mode='poisson'"),
        (lambda: model_config("vone_nonoise", noise_scale=0.5), "conflicts with 'vone_nonoise'"),
        (lambda: get_network("nope"), "name='nope' is not allowed"),
        (lambda: get_network("standard", epochs=0), "epochs=0 is too small"),
        (lambda: get_network("standard", train_size=5), "train_size=5 is too small; it must be >= 10"),
        (lambda: get_network("vone", noise_mode="poisson"), "noise_mode='poisson'"),
        (lambda: get_network("standard", dataset="mnist"), "dataset='mnist' is not allowed"),
        (lambda: training_recipe("resnet"), "name='resnet'"),
    ],
)
def test_bad_values_are_named(call, fragment):
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value)


def test_training_recipe() -> None:
    assert training_recipe("standard") == RECIPES["standard"]
    assert training_recipe("adversarial", "cifar10")["eps"] == 8 / 255
    assert training_recipe("vone", epochs=3)["epochs"] == 3


def test_get_network_caches_and_rebuilds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path))
    kw = {"epochs": 1, "train_size": 500, "progress": False, "device": "cpu"}
    net = get_network("vone", noise_scale=0.5, **kw)
    path = net.checkpoint_path
    assert path.parent == tmp_path / "models" and path.exists() and not net.training
    assert net.vone.noise.scale == 0.5 and net.train_history["epochs"][0]["epoch"] == 1
    calls = []
    real = train_mod.train_model
    monkeypatch.setattr(train_mod, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = get_network("vone", noise_scale=0.5, **kw)  # loaded, not trained
    assert not calls
    for (k, va), vb in zip(net.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    other = get_network("vone", noise_scale=1.0, **kw)  # another parameter: another checkpoint
    assert calls == [1] and other.checkpoint_path != path
    # a corrupt file is detected and rebuilt
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable"):
        get_network("vone", noise_scale=0.5, **kw)
    assert calls == [1, 1]
    # a file whose stored parameters differ from its key is rebuilt, never used
    header, payload = path.read_bytes().split(b"\n", 1)
    key = json.loads(header[len(ENTRY_MAGIC) :])["key"]
    ckpt = torch.load(io.BytesIO(payload), weights_only=True)
    ckpt["params"]["seed"] = 99
    write_entry(path, key, checkpoint_bytes(ckpt))  # a good entry whose payload was trained otherwise
    with pytest.warns(UserWarning, match="other parameters"):
        get_network("vone", noise_scale=0.5, **kw)
    assert calls == [1, 1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_network("vone", noise_scale=0.5, **kw)  # clean load now
    assert calls == [1, 1, 1]
    with pytest.raises(ValueError, match="name='big'"):
        get_network("big")
