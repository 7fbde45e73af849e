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


def test_basic_block_is_torchvisions(monkeypatch) -> None:
    """Our BasicBlock against torchvision's (a peer): built under the same seed, the small ResNets have the same
    content fingerprint (so cached networks stay valid) and compute the same outputs and gradients, shortcut
    projections included; importing the package does not import torchvision."""
    import subprocess
    import sys

    from torchvision.models.resnet import BasicBlock as TorchvisionBlock

    import advgeom.models.resnet as resnet
    from advgeom.fingerprint import model_fingerprint

    def built(block, builder):
        monkeypatch.setattr(resnet, "BasicBlock", block)
        torch.manual_seed(0)
        return builder(widths=(8, 16), depth=2).eval()

    x, our_block = torch.rand(4, 1, 28, 28, requires_grad=True), resnet.BasicBlock
    for builder in (resnet.small_resnet, resnet.vone_resnet):
        ours, theirs = built(our_block, builder), built(TorchvisionBlock, builder)
        assert type(ours.block1[0]) is our_block and type(theirs.block1[0]) is TorchvisionBlock
        assert model_fingerprint(ours) == model_fingerprint(theirs)
        torch.manual_seed(1)
        (g_ours,) = torch.autograd.grad(ours(x).square().sum(), x)
        torch.manual_seed(1)
        (g_theirs,) = torch.autograd.grad(theirs(x).square().sum(), x)
        torch.manual_seed(1)
        out = ours(x)
        torch.manual_seed(1)
        assert torch.equal(out, theirs(x)) and torch.equal(g_ours, g_theirs)
    code = "import sys, advgeom.analysis, advgeom.zoo; print('torchvision' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
