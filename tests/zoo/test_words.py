"""Trained word networks: the cached getter, noise at test time, waveform attacks, waveform geometry."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import advgeom.train as train_mod
from advgeom.analysis import Protocol, manifold_geometry, perturb
from advgeom.attacks import accuracy, pgd
from advgeom.data.audio import WAVEFORM_BOUNDS, CorpusSpec
from advgeom.models.noise import is_stochastic
from advgeom.zoo import build_network, get_network, list_networks, network_info
from advgeom.zoo.words import word_architecture, word_corpus, word_model_params, word_recipe

CORPUS = CorpusSpec(("yes", "no", "seven"), 12, 3)
FAST = {"corpus": CORPUS, "epochs": 6, "widths": (8, 16, 16), "progress": False, "device": "cpu"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("word-cache")


@pytest.fixture()
def in_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADVGEOM_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def train_set(cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVGEOM_CACHE", str(cache))
        return word_corpus(CORPUS, progress=False).split("train").tensors()


def test_registered_word_networks() -> None:
    assert list_networks("audio") == ["word_deterministic", "word_stochastic", "word_adversarial"]
    assert "gain" in network_info("word_stochastic").options and "gain" not in network_info("word_adversarial").options
    assert network_info("word_adversarial").build_options == ("corpus", "widths")
    torch.manual_seed(0)
    net = build_network("word_stochastic", corpus=CORPUS, gain=20.0, widths=(8, 16, 16))
    torch.manual_seed(0)
    same = word_architecture("word_stochastic", corpus=CORPUS, gain=20.0, widths=(8, 16, 16))
    assert net.config == same.config and net.config["gain"] == 20.0 and net.config["num_classes"] == 3
    assert net.input_name == "waveform" and is_stochastic(net)
    for (k, a), b in zip(net.state_dict().items(), same.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert build_network("word_deterministic").config["gain"] is None


def test_getter_trains_once_then_loads(in_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = train_mod.train_model
    monkeypatch.setattr(train_mod, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = get_network("word_deterministic", **FAST)
    second = get_network("word_deterministic", **FAST)
    assert len(calls) == 1
    assert first.checkpoint_path == second.checkpoint_path and first.checkpoint_path.is_file()
    assert first.checkpoint_path.parent == in_cache / "word-models"
    for (k, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert second.words == CORPUS.words and not second.training
    # every parameter is in the key: another seed or gain is another checkpoint
    other = word_model_params("word_deterministic", corpus=CORPUS, epochs=6, widths=(8, 16, 16), seed=1)
    assert other != word_model_params("word_deterministic", corpus=CORPUS, epochs=6, widths=(8, 16, 16), seed=0)
    assert word_model_params("word_stochastic", corpus=CORPUS, gain=10.0) != word_model_params(
        "word_stochastic", corpus=CORPUS, gain=20.0
    )
    params = word_model_params("word_adversarial", corpus=CORPUS)
    assert params["corpus"]["words"] == list(CORPUS.words) and set(params["corpus"]["versions"]) == set(CORPUS.synths)
    assert params["train"]["init"] == word_model_params("word_deterministic", corpus=CORPUS)


def test_corrupt_checkpoint_is_rebuilt(in_cache: Path) -> None:
    good = get_network("word_deterministic", **FAST)
    path = good.checkpoint_path
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = get_network("word_deterministic", **FAST)
    assert rebuilt.checkpoint_path == path and path.stat().st_size > 1000
    for (k, a), b in zip(good.state_dict().items(), rebuilt.state_dict().values(), strict=True):
        assert torch.equal(a, b), k  # training is seeded: the rebuilt network is the same network
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_network("word_deterministic", **FAST)  # and it now loads cleanly


def test_stochastic_model_keeps_its_noise_in_eval(in_cache: Path, train_set) -> None:
    net = get_network("word_stochastic", gain=20.0, **FAST)
    det = get_network("word_deterministic", **FAST)
    x = train_set[0][:4]
    assert not net.training and is_stochastic(net) and not is_stochastic(det)
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))
        assert torch.equal(det(x), det(x))
    # the noise is reparameterised: gradients reach the waveform
    xg = x.clone().requires_grad_(True)
    net(xg).logsumexp(1).sum().backward()
    assert xg.grad.abs().sum() > 0 and torch.isfinite(xg.grad).all()


@pytest.mark.parametrize("norm, eps, p", [("linf", 0.02, float("inf")), ("l2", 3.0, 2)])
def test_waveform_pgd_keeps_the_budget_and_lowers_accuracy(in_cache: Path, train_set, norm, eps, p) -> None:
    net = get_network("word_deterministic", **FAST)
    x, y = train_set
    clean = accuracy(net, x, y)
    assert clean > 0.6  # the training clips are learnt (chance is 1/3)
    x_adv = pgd(net, x, y, eps=eps, norm=norm, steps=10, bounds=WAVEFORM_BOUNDS, seed=0)
    delta = (x_adv - x).flatten(1).norm(p=p, dim=1)
    assert (delta <= eps * (1 + 1e-5)).all() and x_adv.abs().max() <= 1.0
    assert accuracy(net, x_adv, y) < clean - 0.3


def test_waveform_geometry_respects_waveform_bounds(in_cache: Path, train_set) -> None:
    """The analysis protocol on a word network (advgeom.analysis; kept here beside the trained fixture)."""
    net = get_network("word_deterministic", **FAST)
    x, y = train_set[0][:3], train_set[1][:3]
    assert (x < 0).any()  # waveforms are signed: the image bounds (0, 1) would destroy them
    protocol = Protocol(manifold="exemplar", eps=0.01, repeats=2, attack_steps=2, n_t=20, width=50,
                        bounds=WAVEFORM_BOUNDS)  # fmt: skip
    x_adv = perturb(net, x, y, protocol)
    assert ((x_adv - x.repeat_interleave(2, 0)).abs().max() <= 0.01 + 1e-6) and (x_adv < 0).any()
    rand = perturb(net, x, y, Protocol(manifold="exemplar", eps=0.01, repeats=2, perturbation="random",
                                       bounds=WAVEFORM_BOUNDS))  # fmt: skip
    torch.testing.assert_close((rand - x.repeat_interleave(2, 0)).abs().amax(1), torch.full((6,), 0.01))
    frame = manifold_geometry(net, x, y, Protocol(manifold="exemplar", repeats=2, n_t=20, width=50,
                                                   bounds=WAVEFORM_BOUNDS))  # fmt: skip
    assert list(frame.layer) == ["waveform", "nerve", "block1", "block2", "block3", "logits"]
    assert (frame.radius < 1e-6).all() and set(frame["bounds"]) == {"-1,1"}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="name='noisy'"):
        get_network("noisy")
    with pytest.raises(ValueError, match="adv_eps"):
        word_recipe("word_deterministic", adv_eps=0.1)
    with pytest.raises(ValueError, match="bounds"):
        Protocol(bounds=(1.0, -1.0))
    with pytest.raises(ValueError, match="corpus=.* is not a CorpusSpec"):
        get_network("word_deterministic", corpus={"words": ["yes", "no"]})
    with pytest.raises(ValueError, match="has no option 'gain'"):
        get_network("word_deterministic", gain=10.0)
    with pytest.raises(ValueError, match="adv_norm='l1' is not allowed"):
        get_network("word_adversarial", adv_norm="l1")
    with pytest.raises(ValueError, match="gain=0.0 is too small"):
        get_network("word_stochastic", gain=0.0)
