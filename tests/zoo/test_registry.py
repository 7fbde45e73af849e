"""The registry of networks by name: listing, describing, getting and building them; NetSpec."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from advgeom.data.audio import CorpusSpec
from advgeom.zoo import NetSpec, build_network, get_network, list_networks, network_info, register_network, registry

TINY = {"train_size": 40, "epochs": 1}


def test_list_and_describe() -> None:
    assert sorted(list_networks()) == sorted([*list_networks("vision"), *list_networks("audio")])
    assert len(list_networks()) == 9
    assert list_networks("vision", source="trained") == ["standard", "adversarial", "vone", "vone_nonoise"]
    assert list_networks(source="checkpoint") == ["resnet50", "vone_resnet50"]
    assert list_networks("audio") == ["word_deterministic", "word_stochastic", "word_adversarial"]
    assert set(list_networks("vision")) == {"standard", "adversarial", "vone", "vone_nonoise", "resnet50",
                                             "vone_resnet50"}  # fmt: skip
    info = network_info("vone")
    assert (info.name, info.modality, info.source) == ("vone", "vision", "trained") and info.description
    assert dict(info.options) == {"dataset": "fashion-mnist", "noise_scale": None, "noise_mode": "neuronal",
                                  "seed": 0, "epochs": None, "train_size": None, "data_root": None,
                                  "warm_start": False}  # fmt: skip
    assert info.build_options == ("dataset", "noise_scale", "noise_mode")
    with pytest.raises(TypeError):
        info.options["seed"] = 1  # read-only
    with pytest.raises(ValueError, match="modality='touch' is not allowed"):
        list_networks("touch")
    with pytest.raises(ValueError, match=r"name='resnet18' is not allowed; choose one of \['standard'"):
        network_info("resnet18")


def test_unknown_names_and_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"name='vgg' is not allowed; choose one of \[.*'vone_resnet50'"):
        get_network("vgg")
    with pytest.raises(ValueError, match=r"network 'vone' has no option 'noise'; its options are \['dataset'"):
        get_network("vone", noise=0.5)
    with pytest.raises(ValueError, match="checkpoint= is for the ImageNet architectures"):
        get_network("standard", checkpoint="x.pt")
    with pytest.raises(ValueError, match="network 'standard' has no option 'epochs'; its options are \\['dataset'\\]"):
        build_network("standard", epochs=2)  # a training option is not an architecture option
    with pytest.raises(ValueError, match="name='vgg'"):
        build_network("vgg")


def test_register_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # leave the real registry as it was

    def tiny_build(*, width: int = 3) -> torch.nn.Module:
        return torch.nn.Linear(2, width)

    @register_network("tiny", modality="vision", description="a toy", build=tiny_build)
    def tiny(*, width: int = 3, seed: int = 0, progress: bool = True, device: str | None = None) -> torch.nn.Module:
        torch.manual_seed(seed)
        return tiny_build(width=width).eval()

    assert "tiny" in list_networks("vision") and network_info("tiny").build_options == ("width",)
    assert get_network("tiny", width=4, seed=1).out_features == 4 and build_network("tiny").out_features == 3
    assert NetSpec.create("tiny", width=5).build().out_features == 5
    with pytest.raises(ValueError, match="already registered"):
        register_network("tiny", modality="vision", description="again", build=tiny_build)(tiny)
    with pytest.raises(TypeError, match="needs"):
        register_network("bad", modality="vision", description="", build=tiny_build)(lambda *, width=1: None)
    with pytest.raises(ValueError, match="modality='smell'"):
        register_network("bad", modality="smell", description="", build=tiny_build)


def test_netspec_label_key_and_equality(tmp_path) -> None:
    vone = NetSpec.create("vone", noise_scale=0.5, **TINY)
    assert vone.label == "vone@0.5" and NetSpec("standard").label == "standard"
    assert vone == NetSpec("vone", {"epochs": 1, "train_size": 40, "noise_scale": 0.5}) and len({vone, vone}) == 1
    assert vone.kwargs == {"epochs": 1, "noise_scale": 0.5, "train_size": 40}
    assert vone.key() == {"name": "vone", "options": {"dataset": "fashion-mnist", "noise_scale": 0.5,
                          "noise_mode": "neuronal", "seed": 0, "epochs": 1, "train_size": 40, "data_root": None,
                          "warm_start": False}}
    renamed = NetSpec("standard", TINY, label="baseline")
    assert renamed.label == "baseline"
    assert renamed.key() == NetSpec("standard", TINY).key() and renamed == NetSpec("standard", TINY)  # label aside
    assert NetSpec("standard", {"seed": 1}) != NetSpec("standard")
    assert NetSpec("vone", {"noise_scale": 1}).kwargs["noise_scale"] == 1.0  # values converted as the builder would
    words = NetSpec.create("word_stochastic", corpus=CorpusSpec(("yes", "no"), 4, 1), widths=[8, 8, 8])
    assert words.kwargs["widths"] == (8, 8, 8) and hash(words) == hash(NetSpec(words.name, words.kwargs))
    assert words.key()["options"]["corpus"] == CorpusSpec(("yes", "no"), 4, 1).key()
    with pytest.raises(AttributeError):
        vone.name = "standard"


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: NetSpec("resnet18"), "name='resnet18' is not allowed"),
        (lambda: NetSpec("standard", {"checkpoint": "x.pt"}), "checkpoint= is for the ImageNet"),
        (lambda: NetSpec.create("vone", noise_scale=-1), "noise_scale=-1.0 is too small"),
        (lambda: NetSpec.create("standard", epochs=0), "epochs=0 is too small"),
        (lambda: NetSpec.create("standard", device="cpu"), "give them to NetSpec.build()"),
        (lambda: NetSpec.create("word_deterministic", corpus={"words": ["a", "b"]}), "is not a CorpusSpec"),
    ],
)
def test_netspec_bad_inputs_name_the_value(make, fragment) -> None:
    with pytest.raises(ValueError) as err:
        make()
    assert fragment in str(err.value)


def test_netspec_builds_through_get_network() -> None:
    spec = NetSpec.create("resnet50", seed=2)
    a, b = spec.build("cpu"), get_network("resnet50", seed=2, device="cpu")
    assert not a.training
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_listing_networks_imports_no_torch() -> None:
    code = ("import sys; from advgeom.zoo import NetSpec, list_networks, network_info; list_networks('vision'); "
            "network_info('vone'); NetSpec.create('vone', noise_scale=0.5).key(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
