"""The measurement protocol of the study: which manifolds, which perturbation, how they are analysed.

Dapello, Feather et al. (NeurIPS 2021), section 3: for each network, layer and perturbation
strength, build **class manifolds** (P classes x M perturbed images) or **exemplar manifolds**
(P images x M perturbed versions: random-start attacks and, in stochastic networks, fresh
noise). A :class:`Protocol` fixes everything but the network and the inputs; :func:`perturb`
produces the inputs of the manifolds it describes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from advgeom.attacks import NORMS, SCHEDULES, Bounds, check_bounds, pgd, random_in_ball
from advgeom.checks import check_choice, check_float, check_int
from advgeom.models import is_stochastic

MANIFOLDS = ("class", "exemplar")
PERTURBATIONS = ("adversarial", "random")
DEFAULT_BOUNDS: Bounds = (0.0, 1.0)  # images; waveforms use (-1, 1)


@dataclass(frozen=True)
class Protocol:
    """One geometry measurement: which manifolds, which perturbation, how it is analysed.

    ``repeats`` is M for exemplar manifolds (each of the P images is perturbed M times, each
    attack from its own random start). ``eot`` is the number of noise draws averaged per attack
    gradient (None: the attack's default, 8 for stochastic models). ``width`` is the random
    projection width; ``n_t`` the number of MFTMA Gaussian samples; ``seed`` seeds the attack
    starts, projections and MFTMA samples. ``bounds`` is the valid input range that perturbed
    inputs are clipped to: ``(0, 1)`` for images, ``(-1, 1)`` for waveforms, ``None`` for none.
    ``schedule`` is the attack's step-size schedule (:func:`advgeom.attacks.schedule_factor`).
    """

    manifold: str = "class"
    norm: str = "linf"
    eps: float = 0.0
    perturbation: str = "adversarial"
    repeats: int = 1
    attack_steps: int = 16
    eot: int | None = None
    width: int = 2000
    n_t: int = 200
    kappa: float = 0.0
    seed: int = 0
    bounds: Bounds = DEFAULT_BOUNDS
    schedule: str = "constant"

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", check_bounds(self.bounds))
        check_choice("manifold", self.manifold, MANIFOLDS)
        check_choice("norm", self.norm, NORMS)
        check_choice("perturbation", self.perturbation, PERTURBATIONS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_float("eps", self.eps, minimum=0.0)
        check_int("repeats", self.repeats, minimum=1)
        check_int("attack_steps", self.attack_steps, minimum=1)
        if self.eot is not None:
            check_int("eot", self.eot, minimum=1)
        check_int("width", self.width, minimum=2)
        check_int("n_t", self.n_t, minimum=1)
        check_float("kappa", self.kappa)
        if self.manifold == "exemplar" and self.repeats < 2:
            raise ValueError(f"exemplar manifolds need repeats >= 2 perturbed versions per image, got {self.repeats}")

    def key(self) -> dict:
        """The protocol's cache-key fields; ``bounds`` and ``schedule`` only when not their defaults (keeps the
        keys short, and those of entries written before they were fields valid)."""
        key = asdict(self)
        if self.bounds == DEFAULT_BOUNDS:
            del key["bounds"]
        if self.schedule == "constant":
            del key["schedule"]
        return key


def bounds_label(bounds: Bounds) -> str:
    """A table cell for ``bounds``: ``"lo,hi"`` or ``"none"``."""
    return "none" if bounds is None else f"{bounds[0]:g},{bounds[1]:g}"


def with_protocol_columns(frame: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    """``frame`` with one constant column per protocol field (``bounds`` as its :func:`bounds_label`)."""
    for key, value in asdict(protocol).items():
        frame[key] = bounds_label(value) if key == "bounds" else value
    return frame


def random_perturbation(
    x: torch.Tensor, norm: str, eps: float, seed: int = 0, bounds: Bounds = DEFAULT_BOUNDS
) -> torch.Tensor:
    """``x`` plus a random perturbation of ``norm`` exactly ``eps`` (the attack-free control), clipped to ``bounds``.

    Directions are uniform on the L2 sphere, random sign corners of the L-inf cube, and
    uniform (random-sign) points of the L1 sphere.
    """
    gen = torch.Generator().manual_seed(seed)
    delta = random_in_ball(x.shape, norm, 1.0, generator=gen).to(x.device)
    flat = delta.flatten(1)
    if norm == "linf":
        flat = flat.sign()
    else:
        p = 2 if norm == "l2" else 1
        flat = flat / flat.norm(p=p, dim=1, keepdim=True).clamp_min(1e-12)
    out = x + eps * flat.view_as(x)
    bounds = check_bounds(bounds)
    return out if bounds is None else out.clamp(*bounds)


def perturb(model: nn.Module, x: torch.Tensor, y: torch.Tensor, protocol: Protocol) -> torch.Tensor:
    """Inputs of the manifolds: ``x`` (exemplar: each repeated M times) perturbed as the protocol says."""
    if protocol.manifold == "exemplar":
        x, y = x.repeat_interleave(protocol.repeats, dim=0), y.repeat_interleave(protocol.repeats, dim=0)
    if protocol.eps == 0:
        return x
    if protocol.perturbation == "random":
        return random_perturbation(x, protocol.norm, protocol.eps, seed=protocol.seed, bounds=protocol.bounds)
    return pgd(
        model, x, y, eps=protocol.eps, norm=protocol.norm, steps=protocol.attack_steps, eot=protocol.eot,
        random_start=True, bounds=protocol.bounds, seed=protocol.seed, schedule=protocol.schedule,
    )  # fmt: skip


def attack_steps_for(model: nn.Module, steps: int, deterministic_steps: int | None = None) -> int:
    """PGD steps for ``model``: ``deterministic_steps`` for a deterministic model when given, else ``steps``.

    A PGD step on a stochastic model averages ``eot`` noise draws (EOT; Athalye, Carlini & Wagner, ICML
    2018); on a deterministic model it is one forward and backward pass. A deterministic network can
    therefore take several times the steps at a fraction of the stochastic network's cost, and may need
    them: our standard network kept 2 more images of 100 at 20 steps than at 80.
    """
    check_int("steps", steps, minimum=1)
    if deterministic_steps is None or is_stochastic(model):
        return steps
    return check_int("deterministic_steps", deterministic_steps, minimum=1)


def attack_restarts_for(model: nn.Module, deterministic_restarts: int = 1) -> int:
    """Random restarts of PGD per loss for ``model``: ``deterministic_restarts`` for a deterministic model, 1 else.

    On a deterministic model the random start is the attack's only randomness, and several starts find
    adversarial examples one start misses (Madry et al. 2018 report restarts; AutoAttack's APGD restarts
    too): our standard network kept 4 images of 100 at L-inf 0.03 after 80 steps from one start, 2 after
    four starts of 80, as many as AutoAttack. A fooled example leaves the attack, so restarts cost little.
    A stochastic model averages fresh noise draws at every step (EOT), and is attacked from one start.
    """
    check_int("deterministic_restarts", deterministic_restarts, minimum=1)
    return 1 if is_stochastic(model) else deterministic_restarts


def exemplar_images(dataset: Any, n: int, n_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The P = ``n`` inputs of exemplar manifolds: ``n`` items spread evenly over ``n_classes`` classes.

    A seeded class-balanced draw of ``ceil(n / n_classes)`` items per class
    (:func:`advgeom.data.class_balanced_subset`), of which every ``len / n``-th is kept, so the
    classes take turns; the same seed gives every network the same inputs.
    """
    from advgeom.data import class_balanced_subset

    n = check_int("n", n, minimum=1)
    x_pool, y_pool = class_balanced_subset(dataset, n_classes=n_classes, per_class=-(-n // n_classes), seed=seed)
    return spread_subset(x_pool, y_pool, n)


def spread_subset(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` of the inputs ``x, y`` taken evenly through them (every ``len / n``-th): from a set grouped by
    class, a subset in which every class takes its turn (the first ``n`` would be the first classes only)."""
    n = check_int("n", n, minimum=1, maximum=len(x))
    pick = torch.arange(n) * len(x) // n
    return x[pick], y[pick]
