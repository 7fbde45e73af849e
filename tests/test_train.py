"""Training: reproducible, adversarial training helps, collapse is caught; BatchNorm refresh; bad arguments."""

from __future__ import annotations

import pytest
import torch

import advgeom.train as train_mod
from advgeom.attacks import accuracy, robust_accuracy
from advgeom.data import class_balanced_subset, load_fashion_mnist
from advgeom.models import small_resnet
from advgeom.train import fgsm_random_start, refresh_batchnorm, train_model


@pytest.fixture(scope="module")
def tiny() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {
        "train": class_balanced_subset(load_fashion_mnist("train"), 10, 200, seed=1),
        "test": class_balanced_subset(load_fashion_mnist("test"), 10, 20, seed=1),
    }


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return small_resnet(widths=(8, 16, 32))


def test_training_is_seeded_and_learns(tiny: dict) -> None:
    a, b = _net(), _net()
    ha = train_model(a, tiny["train"], epochs=2, seed=3, progress=False, device="cpu")
    train_model(b, tiny["train"], epochs=2, seed=3, progress=False, device="cpu")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not a.training and len(ha["epochs"]) == 2 and ha["train_seconds"] > 0
    assert accuracy(a, *tiny["test"]) > 0.4  # chance is 0.1
    # any DataLoader of (x, y) batches works as well as tensors
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tiny["train"]), batch_size=64, shuffle=True)
    c = _net()
    train_model(c, loader, epochs=1, progress=False, device="cpu")
    assert accuracy(c, *tiny["test"]) > 0.3


@pytest.fixture(scope="module")
def standard_robust_accuracy(tiny: dict) -> float:
    std = _net()
    train_model(std, tiny["train"], epochs=4, progress=False, device="cpu")
    return robust_accuracy(std, tiny["test"], eps=0.1, steps=10)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_adversarial_training_raises_robust_accuracy(method: str, tiny: dict, standard_robust_accuracy: float) -> None:
    adv = _net()
    hist = train_model(adv, tiny["train"], epochs=4, adversarial=method, eps=0.1, pgd_steps=3, progress=False,
                       device="cpu")  # fmt: skip
    assert all("check_pgd_accuracy" in e for e in hist["epochs"])
    r_adv = robust_accuracy(adv, tiny["test"], eps=0.1, steps=10)
    assert r_adv > standard_robust_accuracy + 0.15, (standard_robust_accuracy, r_adv)


def test_collapse_restores_the_best_epoch(tiny: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check accuracy is scripted (0.5, 0.6, then 0.1): training must stop and restore epoch 2's weights."""
    scripted = iter([0.5, 0.6, 0.1, 0.1])
    snapshots = []
    real_pgd = train_mod.pgd

    def fake_accuracy(model: torch.nn.Module, *args: object, **kwargs: object) -> float:
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scripted)

    monkeypatch.setattr(train_mod, "accuracy", fake_accuracy)
    monkeypatch.setattr(train_mod, "pgd", lambda model, x, y, **kw: real_pgd(model, x, y, **{**kw, "steps": 1}))
    net = _net()
    with pytest.warns(UserWarning, match="collapsed at epoch 3"):
        hist = train_model(net, tiny["train"], epochs=4, adversarial="fgsm", eps=0.1, progress=False, device="cpu")
    assert hist["stopped_early"] and len(hist["epochs"]) == 3
    for k, v in net.state_dict().items():
        assert torch.equal(v, snapshots[1][k]), k


def test_refresh_batchnorm_uses_exact_averages() -> None:
    torch.manual_seed(0)
    bn = torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    x = torch.randn(100, 3) * 2 + 5
    refresh_batchnorm(bn, x, batch_size=10)
    torch.testing.assert_close(bn[0].running_mean, x.mean(0))
    assert bn[0].momentum == 0.1 and not bn.training


def test_fgsm_random_start_stays_in_the_ball_and_the_bounds(tiny: dict) -> None:
    net = _net().train()
    x, y = tiny["test"][0][:16], tiny["test"][1][:16]
    for norm, p in (("linf", float("inf")), ("l2", 2)):
        x_adv = fgsm_random_start(net, x, y, eps=0.3, norm=norm)
        assert (x_adv - x).flatten(1).norm(p=p, dim=1).max() <= 0.3 * (1 + 1e-5)
        assert x_adv.min() >= 0 and x_adv.max() <= 1
    with pytest.raises(ValueError, match="norm='l1' is not allowed"):
        fgsm_random_start(net, x, y, eps=0.1, norm="l1")


def test_bad_arguments(tiny: dict) -> None:
    with pytest.raises(ValueError, match="epochs=0 is too small"):
        train_model(_net(), tiny["train"], epochs=0)
    with pytest.raises(ValueError, match="adversarial='trades' is not allowed"):
        train_model(_net(), tiny["train"], epochs=1, adversarial="trades")
