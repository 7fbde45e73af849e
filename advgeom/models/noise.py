"""Stochastic stages: reparameterised neuronal (Poisson-like) and Gaussian noise, on in eval().

Neuronal noise follows VOneNet (Dapello et al., NeurIPS 2020): responses ``x`` are mapped to
spike-count units ``r = gain * x + offset``, given Gaussian noise whose variance equals the
mean, ``r + sqrt(relu(r) + eps) * z`` with ``z ~ N(0, 1)``, mapped back and rectified. This is
the reparameterised (differentiable) stand-in for Poisson noise: ``torch.poisson`` has zero
gradient and would hide the model from gradient attacks, so it is never used here.

``scale`` multiplies the noise standard deviation (0 switches the noise off); ``enabled``
is a switch. The modules are modality-agnostic (any tensor shape): the vision front end
and the auditory-nerve stage share them. Noise stays on in ``eval()``; use
:func:`noise_disabled` or :func:`frozen_noise` to switch it off or fix its draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from advgeom.checks import check_choice, check_float, check_int


def _normal_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if generator is None:
        return torch.randn_like(x)
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def neuronal_noise(
    x: torch.Tensor,
    scale: float = 1.0,
    *,
    gain: float = 0.35,
    offset: float = 0.07,
    eps: float = 1e-5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Poisson-like noise, reparameterised: ``((g x + o) + scale * sqrt(relu(g x + o) + eps) * z - o) / g``.

    No rectification here (the module applies the ReLU). Gradients flow through ``x``.
    """
    if scale == 0:
        return x
    # algebraically equal to the form above, with fewer passes over the tensor
    std = torch.sqrt(F.relu(gain * x + offset) + eps)
    return x + (scale / gain) * std * _normal_like(x, generator)


def gaussian_noise(
    x: torch.Tensor, std: float, scale: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Additive Gaussian noise of fixed standard deviation ``scale * std``."""
    if scale == 0 or std == 0:
        return x
    return x + (scale * std) * _normal_like(x, generator)


class StochasticNoise(nn.Module):
    """Noise stage: ``relu(noise(x))`` (ReLU optional). Base of :class:`NeuronalNoise` and :class:`GaussianNoise`.

    Attributes ``scale`` (multiplies the noise std; 0 = off), ``enabled`` (switch) and
    ``frozen_seed`` (``None`` = fresh draws each call; an int = the same draw for inputs of
    the same shape, for the "noise frozen" sanity check).
    """

    def __init__(self, scale: float = 1.0, *, relu: bool = True) -> None:
        super().__init__()
        self.scale = check_float("scale", scale, minimum=0.0)
        self.relu = bool(relu)
        self.enabled = True
        self.frozen_seed: int | None = None

    @property
    def active(self) -> bool:
        """True when this stage adds noise."""
        return self.enabled and self.scale > 0

    def _generator(self, x: torch.Tensor) -> torch.Generator | None:
        if self.frozen_seed is None:
            return None
        return torch.Generator(device=x.device).manual_seed(self.frozen_seed)

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active:
            x = self._noise(x, self._generator(x))
        return F.relu(x) if self.relu else x


class NeuronalNoise(StochasticNoise):
    """Poisson-like neuronal noise (VOneNet: gain 0.35, offset 0.07), reparameterised; see :func:`neuronal_noise`."""

    def __init__(
        self, scale: float = 1.0, *, gain: float = 0.35, offset: float = 0.07, eps: float = 1e-5, relu: bool = True
    ) -> None:
        super().__init__(scale, relu=relu)
        self.gain = check_float("gain", gain, minimum=1e-12)
        self.offset = check_float("offset", offset)
        self.eps = check_float("eps", eps, minimum=0.0)

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return neuronal_noise(x, self.scale, gain=self.gain, offset=self.offset, eps=self.eps, generator=generator)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, gain={self.gain}, offset={self.offset}, relu={self.relu}"


class GaussianNoise(StochasticNoise):
    """Additive Gaussian noise of standard deviation ``scale * std`` (0.07 in the official CIFAR VOneResNet18)."""

    def __init__(self, std: float = 0.07, scale: float = 1.0, *, relu: bool = True) -> None:
        super().__init__(scale, relu=relu)
        self.std = check_float("std", std, minimum=0.0)

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return gaussian_noise(x, self.std, self.scale, generator=generator)

    def extra_repr(self) -> str:
        return f"std={self.std}, scale={self.scale}, relu={self.relu}"


NOISE_MODES = ("neuronal", "gaussian")


def make_noise(mode: str = "neuronal", scale: float = 1.0, **kwargs: float) -> StochasticNoise:
    """Build a noise stage by name: ``neuronal`` (:class:`NeuronalNoise`) or ``gaussian`` (:class:`GaussianNoise`)."""
    check_choice("noise_mode", mode, NOISE_MODES)
    return NeuronalNoise(scale, **kwargs) if mode == "neuronal" else GaussianNoise(scale=scale, **kwargs)


def noise_modules(model: nn.Module) -> list[StochasticNoise]:
    """Every noise stage inside ``model``."""
    return [m for m in model.modules() if isinstance(m, StochasticNoise)]


def is_stochastic(model: nn.Module) -> bool:
    """True when some noise stage of ``model`` is active (its outputs vary between calls)."""
    return any(m.active and m.frozen_seed is None for m in noise_modules(model))


Stage = Callable[[torch.Tensor], torch.Tensor]


def _chain(stages: list[Stage]) -> Stage:
    def run(x: torch.Tensor) -> torch.Tensor:
        for stage in stages:
            x = stage(x)
        return x

    return run


def split_at_noise(model: nn.Module) -> tuple[Stage, Stage] | None:
    """``(prefix, rest)`` with ``model(x) == rest(prefix(x))`` and all the noise in ``rest``; None if no such split.

    ``prefix`` is the noise-free front of the model (a cochleagram, a Gabor filter bank), which
    gives the same output on every call, so averaging over noise draws (EOT gradients, scoring
    over draws) may compute it once and run only ``rest`` per draw. Handles plain
    ``nn.Sequential`` models (nested ones too) and stages that expose ``noise_split()`` (see
    :class:`advgeom.models.vone.VOneBlock`). Models with a custom ``forward`` or forward hooks
    on the container are not split (None), nor models in training mode (a prefix run once would
    update BatchNorm statistics once) or those whose first stage is already noisy.
    """
    if model.training or model._forward_hooks or model._forward_pre_hooks:
        return None
    if hasattr(model, "noise_split"):
        return model.noise_split()
    if type(model).forward is not nn.Sequential.forward:
        return None
    prefix: list[Stage] = []
    children = list(model.children())
    for i, child in enumerate(children):
        if not noise_modules(child):
            prefix.append(child)
            continue
        inner = split_at_noise(child)
        if inner is not None:
            prefix.append(inner[0])
            rest: list[Stage] = [inner[1], *children[i + 1 :]]
        elif prefix:
            rest = list(children[i:])
        else:
            return None
        return _chain(prefix), _chain(rest)
    return None


def set_noise(model: nn.Module, *, scale: float | None = None, enabled: bool | None = None) -> nn.Module:
    """Set the noise ``scale`` and/or switch of every noise stage in ``model`` (in place); returns ``model``."""
    for m in noise_modules(model):
        if scale is not None:
            m.scale = check_float("scale", scale, minimum=0.0)
        if enabled is not None:
            m.enabled = bool(enabled)
    return model


@contextmanager
def noise_disabled(model: nn.Module) -> Iterator[nn.Module]:
    """Context in which every noise stage of ``model`` is switched off (restored on exit)."""
    stages = noise_modules(model)
    before = [m.enabled for m in stages]
    try:
        for m in stages:
            m.enabled = False
        yield model
    finally:
        for m, b in zip(stages, before, strict=True):
            m.enabled = b


@contextmanager
def seeded_noise(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Context in which the models' noise draws (the global torch RNG) start from ``seed``; the RNG is restored
    on exit, so a seeded block neither depends on nor disturbs what ran before it (training, cache hits)."""
    seed = check_int("seed", seed, minimum=0)
    device = torch.device(device) if device is not None else torch.device("cpu")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@contextmanager
def frozen_noise(model: nn.Module, seed: int = 0) -> Iterator[nn.Module]:
    """Context in which the noise is one fixed draw (the same for inputs of the same shape): a deterministic model."""
    seed = check_int("seed", seed, minimum=0)
    stages = noise_modules(model)
    before = [m.frozen_seed for m in stages]
    try:
        for i, m in enumerate(stages):
            m.frozen_seed = seed + 7919 * i
        yield model
    finally:
        for m, b in zip(stages, before, strict=True):
            m.frozen_seed = b
