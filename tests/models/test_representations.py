"""The representation extractor: every recorded layer of every staged network, the input under its own name."""

from __future__ import annotations

import pytest
import torch

from advgeom.models import extract_representations, layer_names
from advgeom.models.wordnet import word_resnet
from advgeom.zoo import build_network


def test_extract_representations_layers_and_draws() -> None:
    torch.manual_seed(0)
    vone, std = build_network("vone").eval(), build_network("standard").eval()
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


def test_the_input_layer_is_named_by_the_network() -> None:
    torch.manual_seed(0)
    net = word_resnet(4, widths=(8, 8, 8)).eval()
    x = 0.05 * torch.randn(3, 8000)
    assert net.input_name == "waveform" and layer_names(net)[0] == "waveform"
    reps = extract_representations(net, x, layers=["waveform", "nerve"])
    assert torch.equal(reps["waveform"], x) and reps["nerve"].shape == (3, 40 * 50)
    only = extract_representations(net, x, layers=["waveform"], n_draws=2)["waveform"]
    assert only.shape == (3, 2, 8000)
    with pytest.raises(ValueError, match="unknown layers"):
        extract_representations(net, x, layers=["pixels"])
