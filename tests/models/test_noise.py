"""Noise stages: moments, reparameterised gradients, switches, frozen draws."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advgeom.models import (
    GaussianNoise,
    NeuronalNoise,
    frozen_noise,
    is_stochastic,
    make_noise,
    neuronal_noise,
    noise_disabled,
    set_noise,
    split_at_noise,
)


def test_neuronal_noise_variance_equals_mean_in_count_units() -> None:
    torch.manual_seed(0)
    x = torch.full((200_000,), 3.0)
    gain, offset = 0.35, 0.07
    out = neuronal_noise(x, 1.0, gain=gain, offset=offset)
    counts = gain * out + offset  # back to spike-count units
    rate = gain * 3.0 + offset
    assert abs(counts.mean().item() - rate) < 0.01
    assert abs(counts.var().item() - rate) / rate < 0.02  # Poisson-like: variance = mean
    half = neuronal_noise(x, 0.5, gain=gain, offset=offset)
    assert abs((gain * half + offset).std().item() - 0.5 * math.sqrt(rate)) < 0.01  # scale multiplies the std


def test_gaussian_noise_std_and_scale() -> None:
    torch.manual_seed(0)
    x = torch.zeros(100_000)
    assert abs(GaussianNoise(std=0.07, scale=2.0, relu=False)(x).std().item() - 0.14) < 0.002
    assert torch.equal(GaussianNoise(std=0.07, scale=0.0)(x), x)


def test_noise_gradients_flow_and_stay_on_in_eval() -> None:
    layer = nn.Sequential(nn.Identity(), NeuronalNoise(1.0)).eval()
    x = torch.rand(64, 10, requires_grad=True)
    a, b = layer(x), layer(x)
    assert not torch.equal(a, b), "noise must stay on in eval()"
    g = torch.autograd.grad(a.sum(), x)[0]
    assert torch.isfinite(g).all() and (g != 0).float().mean() > 0.5
    assert (a >= 0).all()  # rectified


def test_switches_frozen_draws_and_stochastic_flag() -> None:
    net = nn.Sequential(nn.Linear(4, 4), make_noise("neuronal", 1.0), nn.Linear(4, 2), make_noise("gaussian", 1.0))
    x = torch.rand(8, 4)
    assert is_stochastic(net)
    with frozen_noise(net, seed=3):
        assert not is_stochastic(net)
        assert torch.equal(net(x), net(x))
    assert not torch.equal(net(x), net(x))
    with noise_disabled(net):
        assert not is_stochastic(net) and torch.equal(net(x), net(x))
    assert is_stochastic(net)
    set_noise(net, scale=0.0)
    assert not is_stochastic(net) and torch.equal(net(x), net(x))
    set_noise(net, scale=1.0, enabled=False)
    assert not is_stochastic(net)
    with pytest.raises(ValueError, match="noise_mode='poisson'"):
        make_noise("poisson")
    with pytest.raises(ValueError, match="scale=-1"):
        NeuronalNoise(-1.0)


def test_noise_never_uses_torch_poisson(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.poisson has zero gradient and must not be used")

    monkeypatch.setattr(torch, "poisson", forbidden)
    NeuronalNoise(1.0)(torch.rand(5, 5))


# ------------------------------------------------------------------------- noise-free prefix (split_at_noise)
def _split_models() -> dict[str, nn.Module]:
    from advgeom.models import vone_resnet
    from advgeom.models.wordnet import word_resnet

    torch.manual_seed(0)
    return {"vone": vone_resnet().eval(), "word": word_resnet(4, gain=30.0, widths=(8, 16, 16)).eval()}


@pytest.mark.parametrize("name", ["vone", "word"])
def test_split_at_noise_reproduces_the_model_with_the_noise_after_the_prefix(name: str) -> None:
    model = _split_models()[name]
    x = torch.rand(3, 1, 28, 28) if name == "vone" else 0.05 * torch.randn(3, 16000)
    prefix, rest = split_at_noise(model)
    h = prefix(x)
    assert torch.equal(h, prefix(x))  # the prefix is noise-free
    with noise_disabled(model):
        assert torch.allclose(rest(h), model(x), atol=1e-5)
    torch.manual_seed(1)
    noisy = model(x)
    torch.manual_seed(1)
    assert torch.allclose(rest(prefix(x)), noisy, atol=1e-5)  # the same draws, in the same order


def test_split_at_noise_declines_what_it_cannot_split() -> None:
    class Custom(nn.Sequential):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) * 2

    noisy_first = nn.Sequential(NeuronalNoise(), nn.Linear(3, 3)).eval()
    clean = nn.Sequential(nn.Linear(3, 3), nn.ReLU()).eval()
    custom = Custom(nn.Linear(3, 3), NeuronalNoise()).eval()
    hooked = nn.Sequential(nn.Linear(3, 3), NeuronalNoise()).eval()
    hooked.register_forward_hook(lambda *a: None)
    training = nn.Sequential(nn.Linear(3, 3), NeuronalNoise()).train()
    for model in (noisy_first, clean, custom, hooked, training):
        assert split_at_noise(model) is None
    nested = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Tanh(), NeuronalNoise(), nn.Linear(3, 2))).eval()
    prefix, rest = split_at_noise(nested)
    x = torch.randn(5, 3)
    torch.manual_seed(2)
    ref = nested(x)
    torch.manual_seed(2)
    assert torch.allclose(rest(prefix(x)), ref)
