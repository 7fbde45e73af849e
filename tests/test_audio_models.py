"""Trained word networks: the cached getter, noise at test time, waveform attacks, waveform geometry."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import advgeom.audio_models as zoo
from advgeom.analysis import Protocol, manifold_geometry, perturb
from advgeom.attacks import accuracy, pgd
from advgeom.audio_models import WAVEFORM_BOUNDS, get_word_model, refresh_batchnorm, word_corpus
from advgeom.models.noise import is_stochastic

CORPUS = {"words": ["yes", "no", "seven"], "n_train": 12, "n_test": 3}
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


def test_getter_trains_once_then_loads(in_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = zoo.train_model
    monkeypatch.setattr(zoo, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = get_word_model("deterministic", **FAST)
    second = get_word_model("deterministic", **FAST)
    assert len(calls) == 1
    assert first.checkpoint_path == second.checkpoint_path and first.checkpoint_path.is_file()
    for (k, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert second.words == tuple(CORPUS["words"]) and not second.training
    # every parameter is in the key: another seed or gain is another checkpoint
    other = zoo.word_model_params("deterministic", corpus=CORPUS, epochs=6, widths=(8, 16, 16), seed=1)
    assert other != zoo.word_model_params("deterministic", corpus=CORPUS, epochs=6, widths=(8, 16, 16), seed=0)
    assert zoo.word_model_params("stochastic", corpus=CORPUS, gain=10.0) != zoo.word_model_params(
        "stochastic", corpus=CORPUS, gain=20.0
    )


def test_corrupt_checkpoint_is_rebuilt(in_cache: Path) -> None:
    good = get_word_model("deterministic", **FAST)
    path = good.checkpoint_path
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = get_word_model("deterministic", **FAST)
    assert rebuilt.checkpoint_path == path and path.stat().st_size > 1000
    for (k, a), b in zip(good.state_dict().items(), rebuilt.state_dict().values(), strict=True):
        assert torch.equal(a, b), k  # training is seeded: the rebuilt network is the same network
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_word_model("deterministic", **FAST)  # and it now loads cleanly


def test_stochastic_model_keeps_its_noise_in_eval(in_cache: Path, train_set) -> None:
    net = get_word_model("stochastic", gain=20.0, **FAST)
    det = get_word_model("deterministic", **FAST)
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
    net = get_word_model("deterministic", **FAST)
    x, y = train_set
    clean = accuracy(net, x, y)
    assert clean > 0.6  # the training clips are learnt (chance is 1/3)
    x_adv = pgd(net, x, y, eps=eps, norm=norm, steps=10, bounds=WAVEFORM_BOUNDS, seed=0)
    delta = (x_adv - x).flatten(1).norm(p=p, dim=1)
    assert (delta <= eps * (1 + 1e-5)).all() and x_adv.abs().max() <= 1.0
    assert accuracy(net, x_adv, y) < clean - 0.3


def test_refresh_batchnorm_uses_exact_averages() -> None:
    torch.manual_seed(0)
    bn = torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    x = torch.randn(100, 3) * 2 + 5
    refresh_batchnorm(bn, x, batch_size=10)
    torch.testing.assert_close(bn[0].running_mean, x.mean(0))
    assert bn[0].momentum == 0.1 and not bn.training


def test_waveform_geometry_respects_waveform_bounds(in_cache: Path, train_set) -> None:
    net = get_word_model("deterministic", **FAST)
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
    assert list(frame.layer) == ["pixels", "nerve", "block1", "block2", "block3", "logits"]
    assert (frame.radius < 1e-6).all() and set(frame["bounds"]) == {"-1,1"}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind='noisy'"):
        get_word_model("noisy")
    with pytest.raises(ValueError, match="adv_eps"):
        zoo.word_recipe("deterministic", adv_eps=0.1)
    with pytest.raises(ValueError, match="bounds"):
        Protocol(bounds=(1.0, -1.0))
