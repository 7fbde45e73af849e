"""The geometry protocol of the study: perturb inputs, read out layers, measure manifolds.

Dapello, Feather et al. (NeurIPS 2021), section 3: for each network, layer and perturbation
strength, build **class manifolds** (P classes x M perturbed images) or **exemplar manifolds**
(P images x M perturbed versions: random-start attacks and, in stochastic networks, fresh
noise), randomly project wide layers to a fixed width, and measure them with MFTMA
(:func:`advgeom.geometry.manifold_analysis`). Results are cached on disk keyed by the model's
checkpoint and every protocol parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from advgeom.attacks import NORMS, Bounds, _bounds, _model_device, pgd, random_in_ball
from advgeom.cache import cache_path, cached
from advgeom.checks import check_choice, check_float, check_int
from advgeom.geometry import manifold_analysis
from advgeom.manifolds import random_projection, split_by_label, split_exemplars
from advgeom.models.noise import seeded_noise
from advgeom.models.representations import extract_representations, layer_names

MANIFOLDS = ("class", "exemplar")
PERTURBATIONS = ("adversarial", "random")
METRICS = ("capacity", "radius", "dimension", "center_correlation", "K")
DEFAULT_BOUNDS: Bounds = (0.0, 1.0)  # images; waveforms use (-1, 1)
# 2: a stochastic model's representation draws are seeded by the protocol's seed (format 1 used whatever
# state the global RNG was in, so a result depended on what ran before it in the process)
GEOMETRY_FORMAT = 2


@dataclass(frozen=True)
class Protocol:
    """One geometry measurement: which manifolds, which perturbation, how it is analysed.

    ``repeats`` is M for exemplar manifolds (each of the P images is perturbed M times, each
    attack from its own random start). ``eot`` is the number of noise draws averaged per attack
    gradient (None: the attack's default, 8 for stochastic models). ``width`` is the random
    projection width; ``n_t`` the number of MFTMA Gaussian samples; ``seed`` seeds the attack
    starts, projections and MFTMA samples. ``bounds`` is the valid input range that perturbed
    inputs are clipped to: ``(0, 1)`` for images, ``(-1, 1)`` for waveforms, ``None`` for none.
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", _bounds(self.bounds))
        check_choice("manifold", self.manifold, MANIFOLDS)
        check_choice("norm", self.norm, NORMS)
        check_choice("perturbation", self.perturbation, PERTURBATIONS)
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
    bounds = _bounds(bounds)
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
        random_start=True, bounds=protocol.bounds, seed=protocol.seed,
    )  # fmt: skip


def manifold_geometry(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """MFTMA capacity, radius, dimension and center correlation of the protocol's manifolds, one row per layer.

    ``x, y``: for class manifolds, P classes x M images (grouped by class or not); for exemplar
    manifolds, the P images. Each layer is randomly projected to ``protocol.width`` when wider.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    layers = layer_names(model) if layers is None else list(layers)
    inputs = perturb(model, x, y, protocol)
    reps = _representations(model, inputs, layers, protocol.seed)
    rows = []
    for i, layer in enumerate(layers):
        feats = random_projection(reps[layer], protocol.width, seed=protocol.seed * 1000 + i)
        if protocol.manifold == "class":
            manifolds = split_by_label(feats, y.numpy())
        else:
            manifolds = split_exemplars(feats, len(x))
        res = manifold_analysis(manifolds, kappa=protocol.kappa, n_t=protocol.n_t, seed=protocol.seed)
        rows.append({"layer": layer, "depth": i, **{m: float(getattr(res, m)) for m in METRICS}})
    return _with_protocol_columns(pd.DataFrame(rows), protocol)


def cached_manifold_geometry(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`manifold_geometry`, cached under ``cache_dir()/geometry`` keyed by model, inputs and protocol.

    The model is identified by its checkpoint file (``model.checkpoint_path``, set by
    :func:`advgeom.train.get_trained_model`, whose name is the hash of every training
    parameter); the inputs by a hash of their bytes.
    """
    model_id = _model_id(model)
    if model_id is None:
        return manifold_geometry(model, x, y, protocol, layers)
    key = {
        "format": GEOMETRY_FORMAT,
        "model": model_id,
        "inputs": _tensor_digest(x, y),
        "protocol": _protocol_key(protocol),
        "layers": None if layers is None else list(layers),
    }
    path = cache_path("geometry", key, ".csv")

    def save(frame: pd.DataFrame, p: Path) -> None:
        frame.to_csv(p, index=False)

    def load(p: Path) -> pd.DataFrame:
        frame = pd.read_csv(p)
        if frame.empty or not set(METRICS) <= set(frame.columns):
            raise ValueError(f"{p} is not a geometry table")
        frame["eot"] = frame["eot"].astype(object).where(frame["eot"].notna(), None)
        if "bounds" in frame:
            frame["bounds"] = frame["bounds"].astype(str)
        return frame

    return cached(path, lambda: manifold_geometry(model, x, y, protocol, layers), save, load)


def _bounds_label(bounds: Bounds) -> str:
    """A table cell for ``bounds``: ``"lo,hi"`` or ``"none"``."""
    return "none" if bounds is None else f"{bounds[0]:g},{bounds[1]:g}"


def _with_protocol_columns(frame: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    """``frame`` with one constant column per protocol field (``bounds`` as its :func:`_bounds_label`)."""
    for key, value in asdict(protocol).items():
        frame[key] = _bounds_label(value) if key == "bounds" else value
    return frame


def _protocol_key(protocol: Protocol) -> dict:
    """The protocol's cache-key fields; ``bounds`` only when not the image default (keeps older keys valid)."""
    key = asdict(protocol)
    if protocol.bounds == DEFAULT_BOUNDS:
        del key["bounds"]
    return key


def _tensor_digest(*tensors: torch.Tensor) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in tensors:
        h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return h.hexdigest()[:16]


__all__ = [
    "MANIFOLDS",
    "accuracy_sweep",
    "centroid_overlap",
    "geometry_sweep",
    "overlap_geometry",
    "PERTURBATIONS",
    "Protocol",
    "cached_manifold_geometry",
    "manifold_geometry",
    "perturb",
    "random_perturbation",
]


def accuracy_sweep(
    models: dict[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    eps_grids: dict[str, Sequence[float]],
    *,
    steps: int = 16,
    eot: int | None = None,
    n_draws: int | None = None,
    seed: int = 0,
    progress: bool = True,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> pd.DataFrame:
    """Accuracy of each model under PGD (with EOT for stochastic models) for every norm and eps.

    ``eps_grids`` maps a norm to its eps values (0 = clean). Stochastic models are scored over
    ``n_draws`` fresh noise draws (see :func:`advgeom.attacks.accuracy`), separately from the
    attack. ``bounds``: the valid input range (images (0, 1); waveforms (-1, 1)). One row per
    (model, norm, eps); cached like :func:`cached_manifold_geometry`.
    """
    from tqdm import tqdm

    from advgeom.attacks import robust_accuracy

    for norm in eps_grids:
        check_choice("norm", norm, NORMS)
    bounds = _bounds(bounds)
    jobs = [(name, norm, float(eps)) for name in models for norm, grid in eps_grids.items() for eps in grid]
    rows = []
    for name, norm, eps in tqdm(jobs, desc="accuracy under attack", disable=not progress):
        model = models[name]

        def compute(model: nn.Module = model, norm: str = norm, eps: float = eps) -> float:
            return robust_accuracy(
                model, (x, y), eps=eps, norm=norm, steps=steps, eot=eot, n_draws=n_draws, seed=seed, bounds=bounds
            )

        key = {"model": _model_id(model), "inputs": _tensor_digest(x, y), "norm": norm, "eps": eps, "steps": steps,
               "eot": eot, "n_draws": n_draws, "seed": seed}  # fmt: skip
        if bounds != DEFAULT_BOUNDS:
            key["bounds"] = None if bounds is None else list(bounds)
        acc = _cached_number("accuracy", key, compute) if key["model"] else compute()
        rows.append({"model": name, "norm": norm, "eps": eps, "accuracy": acc})
    return pd.DataFrame(rows)


def geometry_sweep(
    models: dict[str, nn.Module],
    inputs: dict[int, tuple[torch.Tensor, torch.Tensor]],
    protocols: Sequence[Protocol],
    *,
    layers: Sequence[str] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """:func:`cached_manifold_geometry` for every model, protocol and seed; one row per layer.

    ``inputs`` maps a seed to the (x, y) used with that seed (the same images for every model);
    each protocol is run with ``seed`` replaced by each key of ``inputs``.
    """
    from dataclasses import replace

    from tqdm import tqdm

    jobs = [(name, replace(p, seed=seed)) for name in models for p in protocols for seed in inputs]
    frames = []
    for name, protocol in tqdm(jobs, desc="manifold geometry", disable=not progress):
        x, y = inputs[protocol.seed]
        frame = cached_manifold_geometry(models[name], x, y, protocol, layers)
        frame.insert(0, "model", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def centroid_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two point clouds: 2 x the leave-one-out error of a nearest-centroid (linear) classifier.

    1 means indistinguishable (chance error 1/2), 0 means every held-out point lies nearer its own
    cloud's centroid. The decision boundary of a nearest-centroid rule is a hyperplane, so this is a
    linear-separability measure that does not overfit when there are more dimensions than points.
    """
    errors = 0
    for own, other in ((a, b), (b, a)):
        total, centroid_other = own.sum(axis=0), other.mean(axis=0)
        for i in range(len(own)):
            centroid_own = (total - own[i]) / (len(own) - 1)
            errors += np.sum((own[i] - centroid_own) ** 2) >= np.sum((own[i] - centroid_other) ** 2)
    return float(min(1.0, 2.0 * errors / (len(a) + len(b))))


def overlap_geometry(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Overlap of each image's clean and adversarial exemplar manifolds, one row per layer.

    For every image, the clean manifold is ``protocol.repeats`` passes of the clean image (fresh
    noise in a stochastic net; a point otherwise) and the adversarial manifold ``repeats``
    random-start attacks at ``protocol.eps``. Per layer we report the MFTMA capacity of the pair
    (clean vs adversarial of the same image; lower = harder to tell apart), averaged over images,
    and :func:`centroid_overlap`, averaged over images.
    """
    from dataclasses import replace

    if protocol.manifold != "exemplar":
        raise ValueError(f"overlap compares exemplar manifolds; got manifold={protocol.manifold!r}")
    layers = layer_names(model) if layers is None else list(layers)
    clean_in = perturb(model, x, y, replace(protocol, eps=0.0))
    adv_in = perturb(model, x, y, protocol)
    reps = _representations(model, torch.cat([clean_in, adv_in]), layers, protocol.seed)
    n, m = len(x), protocol.repeats
    rows = []
    for i, layer in enumerate(layers):
        feats = random_projection(reps[layer], protocol.width, seed=protocol.seed * 1000 + i)
        clean, adv = split_exemplars(feats[: n * m], n), split_exemplars(feats[n * m :], n)
        capacity = [
            manifold_analysis([c, a], kappa=protocol.kappa, n_t=protocol.n_t, seed=protocol.seed).capacity
            for c, a in zip(clean, adv, strict=True)
        ]
        overlap = [centroid_overlap(c, a) for c, a in zip(clean, adv, strict=True)]
        rows.append({"layer": layer, "depth": i, "pair_capacity": float(np.mean(capacity)),
                     "overlap": float(np.mean(overlap))})  # fmt: skip
    return _with_protocol_columns(pd.DataFrame(rows), protocol)


_DRAW_SEED_OFFSET = 1_000_003  # representation draws: a stream apart from the attacks' (seed, seed + 1)


def _representations(model: nn.Module, inputs: torch.Tensor, layers: Sequence[str], seed: int) -> dict:
    """:func:`extract_representations` with the noise draws of a stochastic model seeded by ``seed``."""
    with seeded_noise(_DRAW_SEED_OFFSET + seed, _model_device(model)):
        return extract_representations(model, inputs, layers=layers)


def _model_id(model: nn.Module) -> str | None:
    checkpoint = getattr(model, "checkpoint_path", None)
    return None if checkpoint is None else Path(checkpoint).name


def _cached_number(kind: str, key: dict, compute) -> float:
    path = cache_path(kind, key, ".txt")
    return cached(path, compute, lambda v, p: p.write_text(repr(float(v))), lambda p: float(p.read_text()))
