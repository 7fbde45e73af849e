"""Variant registry, small ResNets and the representation extractor."""

from __future__ import annotations

import pytest
import torch

from advgeom.models import (
    build_model,
    extract_representations,
    is_stochastic,
    layer_names,
    model_config,
    noise_modules,
    variant_names,
)


def test_variants_by_name() -> None:
    assert variant_names() == ["standard", "adversarial", "vone", "vone_nonoise"]
    with pytest.raises(ValueError, match=r"variant='resnet'.*'standard', 'adversarial', 'vone', 'vone_nonoise'"):
        build_model("resnet")
    torch.manual_seed(0)
    nets = {v: build_model(v).eval() for v in variant_names()}
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
    assert build_model("vone", "cifar10")(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_extract_representations_layers_and_draws() -> None:
    torch.manual_seed(0)
    vone, std = build_model("vone").eval(), build_model("standard").eval()
    assert layer_names(vone) == ["pixels", "vone", "block1", "block2", "block3", "logits"]
    assert layer_names(std) == ["pixels", "stem", "block1", "block2", "block3", "logits"]
    x = torch.rand(5, 1, 28, 28)
    reps = extract_representations(std, x, batch_size=2)
    assert list(reps) == layer_names(std)
    assert reps["pixels"].shape == (5, 784) and torch.equal(reps["pixels"], x.flatten(1))
    assert reps["stem"].shape == (5, 16 * 14 * 14) and reps["block3"].shape == (5, 64 * 4 * 4)
    with torch.no_grad():
        torch.testing.assert_close(reps["logits"], std(x))
    draws = extract_representations(vone, x, layers=["vone", "logits"], n_draws=3)
    assert draws["vone"].shape == (5, 3, 32 * 2 * 14 * 14) and draws["logits"].shape == (5, 3, 10)
    assert not torch.equal(draws["vone"][:, 0], draws["vone"][:, 1])  # fresh noise per draw
    same = extract_representations(std, x, layers=["block1"], n_draws=2)["block1"]
    assert torch.equal(same[:, 0], same[:, 1])  # deterministic model: identical draws
    with pytest.raises(ValueError, match="unknown layers"):
        extract_representations(std, x, layers=["vone"])
    with pytest.raises(ValueError, match="StagedNet"):
        extract_representations(torch.nn.Linear(2, 2), x)
