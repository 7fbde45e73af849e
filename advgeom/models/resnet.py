"""Small ResNets (He et al. 2016, basic blocks) for 28-32 px images, with a conv or VOne front end.

Layout (28 px): normalise -> front end to 14x14 (3x3 conv stride 2, or VOne block + 1x1
bottleneck) -> one BasicBlock per width (first at 14x14, then stride 2 each) -> global average
pool + linear. Trains from scratch on a CPU in about ten seconds per Fashion-MNIST epoch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from advgeom.checks import check_int
from advgeom.models.noise import make_noise
from advgeom.models.staged import Normalize, StagedNet
from advgeom.models.vone import VOneBlock


class BasicBlock(nn.Module):
    """The basic residual block of He et al. (2016), eq. 2: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    3x3 convolutions without bias (the first with ``stride``); the shortcut is ``downsample`` (a projection)
    or the identity. Its submodules, attributes and ``repr`` are those of torchvision's ``BasicBlock``, so its
    weights load into either and a network built from it keeps its content fingerprint; it is written here so
    that importing the package does not import torchvision (seconds per process).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    """``Conv2d`` (``kernel`` x ``kernel``, ``stride``, same padding, no bias) -> ``BatchNorm2d`` -> ``ReLU``."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


def residual_stages(in_width: int, widths: Sequence[int], depth: int) -> OrderedDict[str, nn.Module]:
    """Stages ``block1``.. of ``depth`` :class:`BasicBlock` s each (He et al. 2016), one stage per width.

    The first block of every stage after the first has stride 2; a 1x1 conv + BatchNorm shortcut
    projects when the stride or width changes. A stage of depth 1 is the block itself.
    """
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    inp = in_width
    for i, width in enumerate(widths):
        layers = []
        for j in range(depth):
            stride = 2 if (i > 0 and j == 0) else 1
            down = None
            if stride != 1 or inp != width:
                down = nn.Sequential(nn.Conv2d(inp, width, 1, stride, bias=False), nn.BatchNorm2d(width))
            layers.append(BasicBlock(inp, width, stride, down))
            inp = width
        stages[f"block{i + 1}"] = layers[0] if depth == 1 else nn.Sequential(*layers)
    return stages


def classifier_head(width: int, num_classes: int) -> nn.Sequential:
    """Global average pool -> flatten -> linear to ``num_classes`` logits."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


def init_weights(net: nn.Module) -> None:
    """Kaiming-normal (fan-out, ReLU) initialisation of every ``Conv2d`` of ``net``, in place (uses torch's RNG)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def small_resnet(
    in_channels: int = 1,
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (16, 32, 64),
    depth: int = 1,
    mean: Sequence[float] = (0.5,),
    std: Sequence[float] = (0.5,),
) -> StagedNet:
    """Standard small ResNet. Recorded layers: ``stem``, ``block1``.., ``logits``."""
    check_int("depth", depth, minimum=1)
    widths = [check_int("width", w, minimum=1) for w in widths]
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    stages["normalize"] = Normalize(mean, std)
    stages["stem"] = conv_bn_relu(check_int("in_channels", in_channels, minimum=1), widths[0], 3, 2)
    stages.update(residual_stages(widths[0], widths, depth))
    stages["logits"] = classifier_head(widths[-1], check_int("num_classes", num_classes, minimum=2))
    recorded = [name for name in stages if name != "normalize"]
    net = StagedNet(stages, recorded)
    init_weights(net)
    return net


def vone_resnet(
    in_channels: int = 1,
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (16, 32, 64),
    depth: int = 1,
    image_size: int = 28,
    simple_channels: int = 32,
    complex_channels: int = 32,
    ksize: int = 15,
    stride: int = 2,
    fov_deg: float = 3.0,
    sf_max: float = 5.0,
    k_exc: float = 25.0,
    noise_mode: str = "neuronal",
    noise_scale: float = 1.0,
    gabor_seed: int = 0,
) -> StagedNet:
    """VOne front end (+ noise) -> 1x1 bottleneck -> small ResNet back end.

    Recorded layers: ``vone`` (noise-stage output), ``block1``.., ``logits``. ``noise_scale=0``
    gives the same network without noise. Inputs are normalised to [-1, 1] as in VOneNet.
    """
    widths = [check_int("width", w, minimum=1) for w in widths]
    noise = make_noise(noise_mode, noise_scale)
    vone = VOneBlock(
        in_channels, simple_channels, complex_channels, ksize=ksize, stride=stride, image_size=image_size,
        fov_deg=fov_deg, sf_max=sf_max, k_exc=k_exc, noise=noise, seed=gabor_seed,
    )  # fmt: skip
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    stages["normalize"] = Normalize([0.5] * in_channels, [0.5] * in_channels)
    stages["vone"] = vone
    stages["bottleneck"] = conv_bn_relu(vone.out_channels, widths[0], 1, 1)
    stages.update(residual_stages(widths[0], widths, check_int("depth", depth, minimum=1)))
    stages["logits"] = classifier_head(widths[-1], check_int("num_classes", num_classes, minimum=2))
    recorded = [name for name in stages if name not in ("normalize", "bottleneck")]
    net = StagedNet(stages, recorded)
    init_weights(net)
    return net
