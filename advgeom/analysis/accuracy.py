"""Accuracy of several networks under attack, over grids of norms and strengths, cached.

PGD with EOT for stochastic models (:func:`advgeom.attacks.robust_accuracy`); stochastic models
are scored over fresh noise draws, separately from the attack. Each number is cached under
``cache_dir()/accuracy`` keyed by the model's content fingerprint, the inputs and every attack
setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from advgeom.analysis.protocol import DEFAULT_BOUNDS
from advgeom.attacks import NORMS, Bounds, check_bounds, robust_accuracy
from advgeom.cache import cache_path, cached
from advgeom.checks import check_choice
from advgeom.fingerprint import model_fingerprint, tensor_digest

# 3: a checked cache entry (advgeom.cache); 2: keyed by the model's content fingerprint (1: by its checkpoint
# file name, and only for checkpointed models)
ACCURACY_FORMAT = 3


def decode_accuracy(payload: bytes) -> float:
    """An accuracy read back from its cache payload: a fraction in [0, 1], else ValueError."""
    value = float(payload.decode("ascii"))
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"an accuracy must be a fraction in [0, 1], the entry holds {value!r}")
    return value


def cached_number(kind: str, key: dict, compute) -> float:
    """``compute()``, an accuracy, cached as a checked entry under ``cache_dir()/kind`` (exact: written with
    ``repr``)."""
    path = cache_path(kind, key, ".txt")
    return cached(path, key, compute, lambda v: repr(float(v)).encode("ascii"), decode_accuracy)


def accuracy_sweep(
    models: Mapping[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    eps_grids: Mapping[str, Sequence[float]],
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
    (model, norm, eps).
    """
    from tqdm import tqdm

    for norm in eps_grids:
        check_choice("norm", norm, NORMS)
    bounds = check_bounds(bounds)
    jobs = [(name, norm, float(eps)) for name in models for norm, grid in eps_grids.items() for eps in grid]
    inputs = tensor_digest(x, y)
    fingerprints = {name: model_fingerprint(model) for name, model in models.items()}
    rows = []
    for name, norm, eps in tqdm(jobs, desc="accuracy under attack", disable=not progress):
        model = models[name]

        def compute(model: nn.Module = model, norm: str = norm, eps: float = eps) -> float:
            return robust_accuracy(
                model, (x, y), eps=eps, norm=norm, steps=steps, eot=eot, n_draws=n_draws, seed=seed, bounds=bounds
            )

        key = {"format": ACCURACY_FORMAT, "model": fingerprints[name], "inputs": inputs, "norm": norm, "eps": eps,
               "steps": steps, "eot": eot, "n_draws": n_draws, "seed": seed}  # fmt: skip
        if bounds != DEFAULT_BOUNDS:
            key["bounds"] = None if bounds is None else list(bounds)
        rows.append({"model": name, "norm": norm, "eps": eps, "accuracy": cached_number("accuracy", key, compute)})
    return pd.DataFrame(rows)
