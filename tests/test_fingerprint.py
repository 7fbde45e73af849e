"""advgeom.fingerprint: a model is identified by what it computes (weights, buffers, settings), not by its name."""

from __future__ import annotations

import copy

import torch

from advgeom.fingerprint import model_fingerprint, tensor_digest
from advgeom.models import frozen_noise, noise_disabled, set_noise
from advgeom.zoo import build_network


def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network("vone").eval()


def test_same_weights_same_fingerprint_and_any_change_shows() -> None:
    a, b = net(), net()
    assert model_fingerprint(a) == model_fingerprint(b) == model_fingerprint(copy.deepcopy(a))
    base = model_fingerprint(a)
    with torch.no_grad():
        next(a.parameters()).view(-1)[0] += 1e-6  # one weight, a tiny bit
    assert model_fingerprint(a) != base
    b.train()
    assert model_fingerprint(b) != base  # training mode computes another function (BatchNorm, noise in training)
    b.eval()
    buffers = dict(b.named_buffers())
    name = next(n for n in buffers if n.endswith("running_mean"))
    buffers[name].add_(0.5)
    assert model_fingerprint(b) != base


def test_noise_settings_are_part_of_the_fingerprint() -> None:
    a = net()
    base = model_fingerprint(a)
    set_noise(a, scale=0.5)
    assert model_fingerprint(a) != base
    set_noise(a, scale=1.0)
    assert model_fingerprint(a) == base
    with noise_disabled(a):
        assert model_fingerprint(a) != base
    with frozen_noise(a, seed=3):
        assert model_fingerprint(a) != base
    assert model_fingerprint(a) == base


def test_tensor_digest_sees_values_dtype_and_shape() -> None:
    x = torch.arange(6.0)
    assert tensor_digest(x) == tensor_digest(x.clone())
    assert tensor_digest(x) != tensor_digest(x.double())
    assert tensor_digest(x) != tensor_digest(x.view(2, 3))
    assert tensor_digest(x) != tensor_digest(x + 1e-7 * (x == 0))
    assert tensor_digest(x, x) != tensor_digest(x)
    assert tensor_digest(torch.tensor(True)) != tensor_digest(torch.tensor(False))
