"""Named model variants of the study, built by name: ``standard``, ``adversarial``, ``vone``, ``vone_nonoise``.

``adversarial`` has the ``standard`` architecture (it differs in training, see
:mod:`advgeom.train`); ``vone_nonoise`` is ``vone`` with the noise scale fixed at 0 (the
control: same front end, no noise). ``noise_scale`` multiplies the VOne noise std, for sweeps.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from advgeom.checks import check_choice, check_float, check_int
from advgeom.models.noise import NOISE_MODES
from advgeom.models.resnet import small_resnet, vone_resnet

VARIANTS = ("standard", "adversarial", "vone", "vone_nonoise")

# in_channels, classes, image size, per-channel mean and std (of the training images)
DATASET_SHAPES: dict[str, dict[str, Any]] = {
    "fashion-mnist": {"in_channels": 1, "num_classes": 10, "image_size": 28, "mean": (0.2860,), "std": (0.3530,)},
    "cifar10": {
        "in_channels": 3,
        "num_classes": 10,
        "image_size": 32,
        "mean": (0.4914, 0.4822, 0.4465),
        "std": (0.2470, 0.2435, 0.2616),
    },
}
BACK_END = {"widths": (16, 32, 64), "depth": 1}
VONE_FRONT = {
    "simple_channels": 32,
    "complex_channels": 32,
    "ksize": 15,
    "stride": 2,
    "fov_deg": 3.0,
    "sf_max": 5.0,
    "k_exc": 25.0,
    "gabor_seed": 0,
}


def variant_names() -> list[str]:
    """The valid variant names."""
    return list(VARIANTS)


def model_config(
    variant: str, dataset: str = "fashion-mnist", *, noise_scale: float | None = None, noise_mode: str = "neuronal"
) -> dict[str, Any]:
    """Every parameter that shapes the architecture of ``variant`` on ``dataset`` (used as a cache key)."""
    check_choice("variant", variant, VARIANTS)
    shape = DATASET_SHAPES[check_choice("dataset", dataset, list(DATASET_SHAPES))]
    config: dict[str, Any] = {"variant": variant, "dataset": dataset, **shape, **BACK_END}
    if variant in ("standard", "adversarial"):
        if noise_scale not in (None, 0, 0.0):
            raise ValueError(f"noise_scale={noise_scale!r} applies to vone variants only; {variant!r} has no noise")
        config["arch"] = "small_resnet"
        return config
    check_choice("noise_mode", noise_mode, NOISE_MODES)
    if variant == "vone_nonoise":
        if noise_scale not in (None, 0, 0.0):
            raise ValueError(f"noise_scale={noise_scale!r} conflicts with 'vone_nonoise' (noise off); use 'vone'")
        noise_scale = 0.0
    scale = 1.0 if noise_scale is None else check_float("noise_scale", noise_scale, minimum=0.0)
    config.update(arch="vone_resnet", noise_mode=noise_mode, noise_scale=scale, **VONE_FRONT)
    return config


def build_from_config(config: dict[str, Any]) -> nn.Module:
    """Build the (untrained) network described by :func:`model_config`."""
    common = {
        "in_channels": check_int("in_channels", config["in_channels"], minimum=1),
        "num_classes": config["num_classes"],
        "widths": tuple(config["widths"]),
        "depth": config["depth"],
    }
    if config["arch"] == "small_resnet":
        net = small_resnet(**common, mean=tuple(config["mean"]), std=tuple(config["std"]))
    elif config["arch"] == "vone_resnet":
        keys = ("simple_channels", "complex_channels", "ksize", "stride", "fov_deg", "sf_max", "k_exc", "gabor_seed")
        net = vone_resnet(
            **common,
            image_size=config["image_size"],
            noise_mode=config["noise_mode"],
            noise_scale=config["noise_scale"],
            **{k: config[k] for k in keys},
        )
    else:
        raise ValueError(f"arch={config['arch']!r} is unknown; expected 'small_resnet' or 'vone_resnet'")
    net.config = dict(config)
    return net


def build_model(
    variant: str, dataset: str = "fashion-mnist", *, noise_scale: float | None = None, noise_mode: str = "neuronal"
) -> nn.Module:
    """An untrained network for ``variant`` (see :data:`VARIANTS`); seed torch first for reproducible weights."""
    return build_from_config(model_config(variant, dataset, noise_scale=noise_scale, noise_mode=noise_mode))
