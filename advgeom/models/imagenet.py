"""ImageNet-scale builders: ResNet50 (torchvision) and VOneResNet50, loading a user's local checkpoint.

No weights are downloaded: users with GPUs and their own checkpoints pass a file. Accepted
layouts: a bare state dict; a dict holding it under ``state_dict`` / ``model`` /
``model_state_dict``; ``module.`` prefixes (DataParallel); the MadryLab ``robustness``
library layout (``model.*`` next to ``attacker.model.*`` and ``normalizer.*``); torchvision
names (``conv1``, ``bn1``, ``fc``); the VOneNet names (``vone_block.simple_conv_q0`` ...,
``bottleneck``, ``model.layer1`` ...; Dapello et al. 2020). Inputs are images in [0, 1];
the models normalise internally.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import resnet50

from advgeom.checks import check_choice
from advgeom.models.noise import make_noise
from advgeom.models.staged import Normalize, StagedNet
from advgeom.models.vone import VOneBlock

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ARCHS = ("resnet50", "vone_resnet50")
_NESTED_KEYS = ("state_dict", "model", "model_state_dict", "net")
_IGNORED_PREFIXES = ("vone_block.div_u.", "vone_block.div_t.")  # unused VOneNet variants' extra layers


def load_checkpoint_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file and return its flat state dict (unwrapped, ``module.`` and robustness prefixes gone)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist (pass the path of a local .pt/.pth file)")
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        try:  # robustness / VOneNet checkpoints also pickle their training arguments
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValueError(f"{path} could not be read as a torch checkpoint ({err!r})") from err
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _NESTED_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} holds no state dict (looked for tensors at the top and under {_NESTED_KEYS})")
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    while state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    if any(k.startswith(("attacker.", "normalizer.")) for k in state):  # robustness library wrapper
        state = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    return state


def _rename(state: dict[str, torch.Tensor], arch: str) -> dict[str, torch.Tensor]:
    """Map torchvision / VOneNet names onto the staged network's names."""
    out = {}
    for key, value in state.items():
        if key.startswith(_IGNORED_PREFIXES):
            continue
        new = key
        if arch == "vone_resnet50":
            new = new.replace("vone_block.simple_conv_q0.weight", "vone.q0").replace(
                "vone_block.simple_conv_q1.weight", "vone.q1"
            )
            if new.startswith("model."):
                new = new[len("model.") :]
        if new.startswith("conv1."):
            new = "stem.0." + new[len("conv1.") :]
        elif new.startswith("bn1."):
            new = "stem.1." + new[len("bn1.") :]
        elif new.startswith("fc."):
            new = "logits.2." + new[len("fc.") :]
        out[new] = value
    return out


def _resnet50_stages(num_classes: int, with_stem: bool) -> OrderedDict[str, nn.Module]:
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
    checkpoint: str | Path | None = None,
    *,
    num_classes: int = 1000,
    noise_mode: str = "neuronal",
    noise_scale: float = 1.0,
    gabor_seed: int = 0,
    simple_channels: int = 256,
    complex_channels: int = 256,
    k_exc: float = 25.0,
) -> StagedNet:
    """ResNet50 or VOneResNet50 as a staged network (random weights unless ``checkpoint`` is given), in eval mode.

    VOneResNet50 (VOneNet defaults): 224 px = 8 deg, 25x25 Gabors at stride 4, sf <= 6 c/deg,
    256 simple + 256 complex cells, neuronal noise, 1x1 bottleneck to 64 channels, ResNet50
    layers 1-4. Recorded layers: ``stem`` or ``vone``, ``layer1``..``layer4``, ``logits``.
    A checkpoint whose keys or shapes do not match raises ValueError naming them.
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
    if checkpoint is not None:
        state = _rename(load_checkpoint_state_dict(checkpoint), arch)
        expected = net.state_dict()
        missing = [k for k in expected if k not in state and not k.startswith("normalize.")]
        unexpected = [k for k in state if k not in expected]
        wrong = [k for k in state if k in expected and state[k].shape != expected[k].shape]
        if missing or unexpected or wrong:
            raise ValueError(
                f"checkpoint {checkpoint} does not fit {arch}: {len(missing)} missing keys {missing[:5]}, "
                f"{len(unexpected)} unexpected keys {unexpected[:5]}, {len(wrong)} wrong shapes {wrong[:5]}"
            )
        net.load_state_dict(state, strict=False)
        net.config["checkpoint"] = str(checkpoint)
    return net.eval()
