"""ImageNet-scale architectures: staged ResNet50 and VOneResNet50 with random weights (their checkpoints:
tests/zoo/test_imagenet.py)."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet50

from advgeom.models import build_imagenet_model, is_stochastic, layer_names


def test_staged_resnet50_is_torchvision_resnet50() -> None:
    torch.manual_seed(0)
    net = build_imagenet_model("resnet50")
    assert not net.training and net.config == {"arch": "resnet50", "num_classes": 1000}
    assert layer_names(net) == ["pixels", "stem", "layer1", "layer2", "layer3", "layer4", "logits"]
    torch.manual_seed(0)
    tv = resnet50(weights=None)
    ours = {k: v for k, v in net.state_dict().items() if not k.startswith("normalize.")}
    assert sum(v.numel() for v in ours.values()) == sum(v.numel() for v in tv.state_dict().values())
    for (k, a), b in zip(ours.items(), tv.state_dict().values(), strict=True):
        assert torch.equal(a, b), k  # same modules, same order, same draws


def test_vone_resnet50_layers_and_config() -> None:
    torch.manual_seed(0)
    net = build_imagenet_model("vone_resnet50", simple_channels=8, complex_channels=8, noise_scale=0.5)
    assert layer_names(net) == ["pixels", "vone", "layer1", "layer2", "layer3", "layer4", "logits"]
    assert net.config == {"arch": "vone_resnet50", "num_classes": 1000, "noise_mode": "neuronal",
                          "noise_scale": 0.5, "gabor_seed": 0}  # fmt: skip
    assert is_stochastic(net) and net(torch.rand(1, 3, 64, 64)).shape == (1, 1000)


def test_bad_arch() -> None:
    with pytest.raises(ValueError, match="arch='vgg16'"):
        build_imagenet_model("vgg16")
    with pytest.raises(ValueError, match="arch='resnet18' is not allowed"):
        build_imagenet_model("resnet18")
