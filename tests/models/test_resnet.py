"""Small ResNets and their public building blocks (shared with the word networks)."""

from __future__ import annotations

import torch
from torch import nn

from advgeom.models import small_resnet, vone_resnet
from advgeom.models.resnet import classifier_head, conv_bn_relu, init_weights, residual_stages


def test_building_blocks() -> None:
    x = torch.rand(2, 3, 14, 14)
    stem = conv_bn_relu(3, 8, 3, 2)
    assert stem(x).shape == (2, 8, 7, 7) and isinstance(stem[1], nn.BatchNorm2d)
    stages = residual_stages(8, (8, 16), depth=2)
    assert list(stages) == ["block1", "block2"] and len(stages["block2"]) == 2
    h = stages["block2"](stages["block1"](stem(x)))
    assert h.shape == (2, 16, 4, 4)
    assert classifier_head(16, 5)(h).shape == (2, 5)
    single = residual_stages(8, (8, 16, 32), depth=1)
    assert not isinstance(single["block1"], nn.Sequential)  # depth 1: the block itself
    conv = nn.Conv2d(4, 4, 3)
    torch.manual_seed(0)
    init_weights(nn.Sequential(conv))
    torch.manual_seed(0)
    expected = torch.empty_like(conv.weight)
    nn.init.kaiming_normal_(expected, mode="fan_out", nonlinearity="relu")
    assert torch.equal(conv.weight, expected)


def test_small_and_vone_resnets() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 1, 28, 28)
    assert small_resnet(widths=(8, 16, 32))(x).shape == (2, 10)
    net = vone_resnet(simple_channels=4, complex_channels=4, widths=(8, 16, 32), depth=2).eval()
    assert net(x).shape == (2, 10) and net.recorded == ("vone", "block1", "block2", "block3", "logits")
