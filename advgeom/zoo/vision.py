"""The vision zoo: ``standard``, ``adversarial``, ``vone``, ``vone_nonoise`` on Fashion-MNIST (or CIFAR-10).

* ``standard``: a small ResNet (:func:`advgeom.models.small_resnet`), standard training;
* ``adversarial``: the ``standard`` architecture, fast adversarial training (FGSM from a random start,
  Wong, Rice & Kolter ICLR 2020, at the data set's eps; :func:`advgeom.train.train_model`);
* ``vone``: a VOne front end (fixed Gabor filter bank + neuronal noise, Dapello et al. NeurIPS 2020)
  before the small ResNet back end (:func:`advgeom.models.vone_resnet`); ``noise_scale`` multiplies
  the noise std, for sweeps;
* ``vone_nonoise``: ``vone`` with the noise scale fixed at 0 (the control: same front end, no noise).

Registered in :mod:`advgeom.zoo.registry` (modality ``vision``): ``get_network(name, ...)`` trains
the network with its recipe (:data:`RECIPES`; seeded) on first use and caches it in
``cache_dir()/models``, keyed by every parameter that shapes it (:func:`model_config`, the recipe,
the seed; :mod:`advgeom.zoo.checkpoints`). Options: ``dataset``, ``seed``, ``epochs`` (override
the recipe), ``train_size`` (train on a seeded class-balanced subset of that many images),
``data_root`` (folder of a user-supplied data set), and for the VOne nets ``noise_mode`` (and
``noise_scale`` for ``vone``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.checks import Interval, Options, Satisfies, check_choice, check_float, check_int, validate_params
from advgeom.zoo.checkpoints import CHECKPOINT_FORMAT, cached_network, checkpoint_dict
from advgeom.zoo.registry import list_networks, register_network

if TYPE_CHECKING:
    import torch
    from torch import nn

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
# Default training recipes (Fashion-MNIST; chosen so the four networks train in minutes on 2 CPU cores).
_BASE = {"epochs": 8, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "adversarial": None}
RECIPES: dict[str, dict[str, Any]] = {
    "standard": dict(_BASE),
    "adversarial": {**_BASE, "adversarial": "fgsm", "eps": 0.1, "norm": "linf"},
    "vone": dict(_BASE),
    "vone_nonoise": dict(_BASE),
}
DATASET_EPS = {"fashion-mnist": 0.1, "cifar10": 8 / 255}
# A noise sweep's networks start from the trained noise-1 vone network and are fine-tuned at their own noise
# (noise type and scale): this fraction of the base recipe's epochs, at this learning rate (one-cycle).
FINETUNE = {"epoch_fraction": 0.25, "lr": 0.05}


def _check_noise_mode(mode: Any) -> str:
    from advgeom.models.noise import NOISE_MODES

    return check_choice("noise_mode", mode, NOISE_MODES)


NOISE_MODE_CONSTRAINT = Satisfies(_check_noise_mode, "neuronal", ("poisson",), "a mode of advgeom.models.noise")


def _variants() -> list[str]:
    return list_networks("vision", source="trained")


def model_config(
    name: str, dataset: str = "fashion-mnist", *, noise_scale: float | None = None, noise_mode: str = "neuronal"
) -> dict[str, Any]:
    """Every parameter that shapes the architecture of ``name`` on ``dataset`` (part of the cache key)."""
    from advgeom.models.noise import NOISE_MODES

    check_choice("name", name, _variants())
    shape = DATASET_SHAPES[check_choice("dataset", dataset, list(DATASET_SHAPES))]
    config: dict[str, Any] = {"variant": name, "dataset": dataset, **shape, **BACK_END}
    if name in ("standard", "adversarial"):
        if noise_scale not in (None, 0, 0.0):
            raise ValueError(f"noise_scale={noise_scale!r} applies to vone variants only; {name!r} has no noise")
        config["arch"] = "small_resnet"
        return config
    check_choice("noise_mode", noise_mode, NOISE_MODES)
    if name == "vone_nonoise":
        if noise_scale not in (None, 0, 0.0):
            raise ValueError(f"noise_scale={noise_scale!r} conflicts with 'vone_nonoise' (noise off); use 'vone'")
        noise_scale = 0.0
    scale = 1.0 if noise_scale is None else check_float("noise_scale", noise_scale, minimum=0.0)
    config.update(arch="vone_resnet", noise_mode=noise_mode, noise_scale=scale, **VONE_FRONT)
    return config


def build_from_config(config: dict[str, Any]) -> nn.Module:
    """Build the (untrained) network described by :func:`model_config`."""
    from advgeom.models.resnet import small_resnet, vone_resnet

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
    name: str, dataset: str = "fashion-mnist", *, noise_scale: float | None = None, noise_mode: str = "neuronal"
) -> nn.Module:
    """An untrained network ``name`` (a vision zoo name); seed torch first for reproducible weights."""
    return build_from_config(model_config(name, dataset, noise_scale=noise_scale, noise_mode=noise_mode))


def training_recipe(name: str, dataset: str = "fashion-mnist", epochs: int | None = None) -> dict[str, Any]:
    """The default training parameters of ``name`` on ``dataset`` (``epochs`` overrides the default)."""
    check_choice("name", name, list(RECIPES))
    recipe = dict(RECIPES[name])
    if recipe.get("adversarial"):
        recipe["eps"] = DATASET_EPS[dataset]
    if epochs is not None:
        recipe["epochs"] = check_int("epochs", epochs, minimum=1)
    return recipe


def _training_data(
    dataset: str, data_root: str | Path | None, train_size: int | None, num_classes: int, seed: int
) -> Any:
    from advgeom.data import class_balanced_subset, load_vision_dataset

    data = load_vision_dataset(dataset, "train", data_root)
    if train_size is None:
        return data
    return class_balanced_subset(data, num_classes, train_size // num_classes, seed=seed)


def _trained_vision_network(
    name: str = "standard",
    dataset: str = "fashion-mnist",
    *,
    noise_scale: float | None = None,
    noise_mode: str = "neuronal",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    device: torch.device | str | None = None,
    data_root: str | Path | None = None,
    train_size: int | None = None,
    warm_start: bool = False,
) -> nn.Module:
    """The trained zoo network ``name`` in eval mode: loaded from ``cache_dir()/models`` or trained and cached.

    What the registered builders run (their arguments declared and converted). The checkpoint is keyed by every
    parameter that shapes the model (architecture, noise, training recipe, seed); the parameters are
    stored inside it and compared on load, so a corrupt or mismatched file is rebuilt, never used. The
    training history (including ``train_seconds``) is attached as ``model.train_history``.
    ``train_size`` trains on a seeded class-balanced subset of that many training images.
    ``warm_start`` (``vone`` only): start from the trained ``vone`` at noise scale 1, neuronal noise (the
    same data, seed and ``epochs``) and fine-tune it at this network's noise for :data:`FINETUNE`'s share
    of the epochs: a noise sweep's networks then cost a fraction of training each from scratch.
    """
    import torch

    from advgeom.device import default_device
    from advgeom.train import train_model

    config = model_config(name, dataset, noise_scale=noise_scale, noise_mode=noise_mode)
    recipe = training_recipe(name, dataset, epochs)
    if train_size is not None:
        recipe["train_size"] = check_int("train_size", train_size, minimum=config["num_classes"])
    base_kw = {"seed": seed, "epochs": epochs, "data_root": data_root, "train_size": train_size}
    if warm_start:
        if name != "vone":
            raise ValueError(f"warm_start=True applies to 'vone' (a noise sweep), not {name!r}")
        start = _trained_vision_network("vone", dataset, progress=progress, device=device, **base_kw)
        recipe.update(
            epochs=max(1, round(recipe["epochs"] * FINETUNE["epoch_fraction"])), lr=FINETUNE["lr"],
            init=start.checkpoint_path.stem,  # the base network's checkpoint key (every parameter that shaped it)
        )  # fmt: skip
    params = {"format": CHECKPOINT_FORMAT, "model": config, "train": recipe, "seed": seed}
    device = torch.device(device) if device is not None else default_device()

    def train() -> dict[str, Any]:
        torch.manual_seed(seed)
        net = build_from_config(config)
        if warm_start:
            net.load_state_dict(start.state_dict())
        fit = {k: v for k, v in recipe.items() if k not in ("train_size", "init")}
        data = _training_data(dataset, data_root, train_size, config["num_classes"], seed)
        history = train_model(net, data, seed=seed, progress=progress, device=device, **fit)
        return checkpoint_dict(params, net, history)

    return cached_network("models", params, partial(build_from_config, config), train, device)


# ------------------------------------------------------------------------------------------------ registered
_TRAINING = {
    "dataset": Options(tuple(DATASET_SHAPES)),
    "seed": Interval(int, 0, None),
    "epochs": [Interval(int, 1, None), None],
    "train_size": [Interval(int, 1, None), None],
}


@register_network(
    "standard", modality="vision", build=partial(build_model, "standard"),
    description="small ResNet (3x3 conv front end), standard training",
)  # fmt: skip
@validate_params(_TRAINING)
def standard(
    *,
    dataset: str = "fashion-mnist",
    seed: int = 0,
    epochs: int | None = None,
    train_size: int | None = None,
    data_root: str | None = None,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> nn.Module:
    """The trained ``standard`` network (see the module docstring)."""
    return _trained_vision_network("standard", dataset, seed=seed, epochs=epochs, progress=progress, device=device,
                                  data_root=data_root, train_size=train_size)  # fmt: skip


@register_network(
    "adversarial", modality="vision", build=partial(build_model, "adversarial"),
    description="the standard architecture, fast adversarial training (FGSM from a random start)",
)  # fmt: skip
@validate_params(_TRAINING)
def adversarial(
    *,
    dataset: str = "fashion-mnist",
    seed: int = 0,
    epochs: int | None = None,
    train_size: int | None = None,
    data_root: str | None = None,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> nn.Module:
    """The trained ``adversarial`` network (see the module docstring)."""
    return _trained_vision_network("adversarial", dataset, seed=seed, epochs=epochs, progress=progress,
                                  device=device, data_root=data_root, train_size=train_size)  # fmt: skip


@register_network(
    "vone", modality="vision", build=partial(build_model, "vone"),
    description="VOne front end (Gabor filter bank + neuronal noise) -> small ResNet, standard training",
)  # fmt: skip
@validate_params(
    {**_TRAINING, "noise_scale": [Interval(float, 0.0, None), None], "noise_mode": NOISE_MODE_CONSTRAINT,
     "warm_start": Options((False, True))}
)  # fmt: skip
def vone(
    *,
    dataset: str = "fashion-mnist",
    noise_scale: float | None = None,
    noise_mode: str = "neuronal",
    seed: int = 0,
    epochs: int | None = None,
    train_size: int | None = None,
    data_root: str | None = None,
    warm_start: bool = False,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> nn.Module:
    """The trained ``vone`` network; ``noise_scale`` multiplies the noise std (None: 1); ``warm_start``: fine-tuned
    from the noise-1 network (a noise sweep's networks)."""
    return _trained_vision_network("vone", dataset, noise_scale=noise_scale, noise_mode=noise_mode, seed=seed,
                                  epochs=epochs, progress=progress, device=device, data_root=data_root,
                                  train_size=train_size, warm_start=warm_start)  # fmt: skip


@register_network(
    "vone_nonoise", modality="vision", build=partial(build_model, "vone_nonoise"),
    description="the vone network with its noise off (scale 0): the control",
)  # fmt: skip
@validate_params({**_TRAINING, "noise_mode": NOISE_MODE_CONSTRAINT})
def vone_nonoise(
    *,
    dataset: str = "fashion-mnist",
    noise_mode: str = "neuronal",
    seed: int = 0,
    epochs: int | None = None,
    train_size: int | None = None,
    data_root: str | None = None,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> nn.Module:
    """The trained ``vone_nonoise`` network (see the module docstring)."""
    return _trained_vision_network("vone_nonoise", dataset, noise_mode=noise_mode, seed=seed, epochs=epochs,
                                  progress=progress, device=device, data_root=data_root,
                                  train_size=train_size)  # fmt: skip
