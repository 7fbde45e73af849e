"""ImageNet-scale networks ``resnet50`` and ``vone_resnet50`` with weights from a user's local checkpoint file.

No weights are downloaded: users with GPUs and their own checkpoints pass a file (option
``checkpoint``; without one the weights are random, seeded by ``seed``), read with
``torch.load(weights_only=True)`` only: a file that pickles other Python objects is refused, with how to
convert it (no code from a file ever runs). Accepted layouts: a bare
state dict; a dict holding it under ``state_dict`` / ``model`` / ``model_state_dict``; ``module.``
prefixes (DataParallel); the MadryLab ``robustness`` library layout (``model.*`` next to
``attacker.model.*`` and ``normalizer.*``); torchvision names (``conv1``, ``bn1``, ``fc``); the
VOneNet names (``vone_block.simple_conv_q0`` ..., ``bottleneck``, ``model.layer1`` ...; Dapello
et al. 2020). The architectures are :func:`advgeom.models.build_imagenet_model`'s. Registered
(modality ``vision``, source ``checkpoint``) in :mod:`advgeom.zoo`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.checks import Interval, Satisfies, validate_params
from advgeom.zoo.registry import register_network
from advgeom.zoo.vision import NOISE_MODE_CONSTRAINT

if TYPE_CHECKING:
    import torch

    from advgeom.models.staged import StagedNet

_NESTED_KEYS = ("state_dict", "model", "model_state_dict", "net")
_IGNORED_PREFIXES = ("vone_block.div_u.", "vone_block.div_t.")  # unused VOneNet variants' extra layers


_UNSAFE_GLOBAL = re.compile(r"unsupported (?:global: )?GLOBAL (\S+)", re.IGNORECASE)  # torch's weights-only unpickler


def _reason(err: BaseException) -> str:
    """The line of a torch.load error that says what went wrong (torch's own messages run to paragraphs)."""
    text = str(err)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].strip().split("\n\n", 1)[0]
    return " ".join(text.split())[:200] or type(err).__name__


def _load_tensors_only(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``: tensors, containers and numbers, never arbitrary objects.

    A file that needs more (it pickles Python objects: training arguments, a whole model, or code that
    would run while loading) is refused with a ValueError naming the file and saying how to convert it.
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        needs = _UNSAFE_GLOBAL.search(str(err))
        if needs:
            raise ValueError(
                f"{path} needs the Python object {needs.group(1)} to load, and advgeom reads checkpoint files with "
                f"torch.load(weights_only=True) only (unpickling runs whatever code a file names). If you trust "
                f"the file and its source, convert it once, yourself, in a Python session you trust: load it there "
                f"with the unpickling your torch version needs, keep only the tensors with "
                f"torch.save(obj['state_dict'], 'weights.pt') (or the entry that holds the weights), then pass "
                f"weights.pt"
            ) from None
        raise ValueError(f"{path} could not be read as a torch checkpoint ({_reason(err)})") from None


def load_checkpoint_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file (tensors only: :func:`_load_tensors_only`) and return its flat state dict
    (unwrapped, ``module.`` and robustness prefixes gone)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist (pass the path of a local .pt/.pth file)")
    obj = _load_tensors_only(path)
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


def load_imagenet_weights(net: StagedNet, checkpoint: str | Path) -> StagedNet:
    """Load the weights of the file ``checkpoint`` into ``net`` (a :func:`~advgeom.models.build_imagenet_model`
    network), in eval mode; ``net.config["checkpoint"]`` records the file. A checkpoint whose keys or
    shapes do not match raises ValueError naming them."""
    arch = net.config["arch"]
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


def imagenet_network(
    arch: str,
    *,
    checkpoint: str | Path | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    **arch_options: Any,
) -> StagedNet:
    """``arch`` (``resnet50`` / ``vone_resnet50``) with the weights of ``checkpoint`` (random weights seeded by
    ``seed`` when None), on ``device`` (default :func:`~advgeom.device.default_device`), in eval mode."""
    import torch

    from advgeom.device import default_device
    from advgeom.models.imagenet import build_imagenet_model

    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)
    net = build_imagenet_model(arch, **arch_options)
    if checkpoint is not None:
        load_imagenet_weights(net, checkpoint)
    return net.to(device).eval()


def _check_path(value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"checkpoint={value!r} must be the path of a local checkpoint file (or None)")
    return os.fspath(value)


def _architecture(arch: str, **options: Any) -> StagedNet:
    """The untrained ``arch``; options left None take :func:`~advgeom.models.build_imagenet_model`'s defaults."""
    from advgeom.models.imagenet import build_imagenet_model

    return build_imagenet_model(arch, **{k: v for k, v in options.items() if v is not None})


def _build_resnet50() -> StagedNet:
    return _architecture("resnet50")


def _build_vone_resnet50(*, noise_mode: str | None = None, noise_scale: float | None = None) -> StagedNet:
    return _architecture("vone_resnet50", noise_mode=noise_mode, noise_scale=noise_scale)


_LOADING = {"checkpoint": [Satisfies(_check_path, "checkpoint.pt", (3, b"x"), "a file path"), None],
            "seed": Interval(int, 0, None)}  # fmt: skip


@register_network(
    "resnet50", modality="vision", source="checkpoint", build=_build_resnet50,
    description="torchvision ResNet50 (ImageNet scale), weights from a local checkpoint file",
)  # fmt: skip
@validate_params(_LOADING)
def resnet50(
    *, checkpoint: str | None = None, seed: int = 0, progress: bool = False, device: torch.device | str | None = None
) -> StagedNet:
    """ResNet50 with the weights of ``checkpoint`` (random weights seeded by ``seed`` when None)."""
    return imagenet_network("resnet50", checkpoint=checkpoint, seed=seed, device=device)


@register_network(
    "vone_resnet50", modality="vision", source="checkpoint", build=_build_vone_resnet50,
    description="VOneResNet50 (VOne front end + ResNet50 layers), weights from a local checkpoint file",
)  # fmt: skip
@validate_params(
    {**_LOADING, "noise_mode": [NOISE_MODE_CONSTRAINT, None], "noise_scale": [Interval(float, 0.0, None), None]}
)
def vone_resnet50(
    *,
    checkpoint: str | None = None,
    seed: int = 0,
    noise_mode: str | None = None,
    noise_scale: float | None = None,
    progress: bool = False,
    device: torch.device | str | None = None,
) -> StagedNet:
    """VOneResNet50 (VOneNet defaults, see :func:`~advgeom.models.build_imagenet_model`) with the weights of
    ``checkpoint`` (random weights seeded by ``seed`` when None); ``noise_mode`` and ``noise_scale`` (the
    noise multiplier) default to the architecture's (neuronal, 1)."""
    options = {k: v for k, v in (("noise_mode", noise_mode), ("noise_scale", noise_scale)) if v is not None}
    return imagenet_network("vone_resnet50", checkpoint=checkpoint, seed=seed, device=device, **options)
