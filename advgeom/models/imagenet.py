"""ImageNet-scale architectures: ResNet50 (torchvision) and VOneResNet50, as staged networks with random weights.

No weights are downloaded: the trained weights come from a user's local checkpoint file, read by
:mod:`advgeom.zoo.imagenet` (``advgeom.zoo.get_network("resnet50", checkpoint=...)``). Inputs are
images in [0, 1]; the models normalise internally.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from advgeom.checks import check_choice
from advgeom.models.noise import make_noise
from advgeom.models.staged import Normalize, StagedNet
from advgeom.models.vone import VOneBlock

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ARCHS = ("resnet50", "vone_resnet50")


def _resnet50_stages(num_classes: int, with_stem: bool) -> OrderedDict[str, nn.Module]:
    from torchvision.models import resnet50  # here: importing torchvision takes seconds

    tv = resnet50(weights=None, num_classes=num_classes)
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    if with_stem:
        stages["stem"] = nn.Sequential(tv.conv1, tv.bn1, tv.relu, tv.maxpool)
    for name in ("layer1", "layer2", "layer3", "layer4"):
        stages[name] = getattr(tv, name)
    stages["logits"] = nn.Sequential(tv.avgpool, nn.Flatten(), tv.fc)
    return stages


def build_imagenet_model(
    arch: str = "resnet50",
    *,
    num_classes: int = 1000,
    noise_mode: str = "neuronal",
    noise_scale: float = 1.0,
    gabor_seed: int = 0,
    simple_channels: int = 256,
    complex_channels: int = 256,
    k_exc: float = 25.0,
) -> StagedNet:
    """ResNet50 or VOneResNet50 as a staged network with random weights (seed torch first), in eval mode.

    VOneResNet50 (VOneNet defaults): 224 px = 8 deg, 25x25 Gabors at stride 4, sf <= 6 c/deg,
    256 simple + 256 complex cells, neuronal noise, 1x1 bottleneck to 64 channels, ResNet50
    layers 1-4. Recorded layers: ``stem`` or ``vone``, ``layer1``..``layer4``, ``logits``.
    Trained weights: :func:`advgeom.zoo.imagenet.load_imagenet_weights` (a local checkpoint file).
    """
    check_choice("arch", arch, ARCHS)
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    if arch == "resnet50":
        stages["normalize"] = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        stages.update(_resnet50_stages(num_classes, with_stem=True))
    else:
        stages["normalize"] = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        stages["vone"] = VOneBlock(
            3, simple_channels, complex_channels, ksize=25, stride=4, image_size=224, fov_deg=8.0, sf_max=6.0,
            k_exc=k_exc, noise=make_noise(noise_mode, noise_scale), seed=gabor_seed,
        )  # fmt: skip
        stages["bottleneck"] = nn.Conv2d(simple_channels + complex_channels, 64, kernel_size=1, bias=False)
        stages.update(_resnet50_stages(num_classes, with_stem=False))
    recorded = [name for name in stages if name not in ("normalize", "bottleneck")]
    config = {"arch": arch, "num_classes": num_classes}
    if arch == "vone_resnet50":
        config.update(noise_mode=noise_mode, noise_scale=noise_scale, gabor_seed=gabor_seed)
    net = StagedNet(stages, recorded, config)
    return net.eval()
