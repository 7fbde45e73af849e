"""Accuracy of several networks under attack, over grids of norms and strengths, with intervals.

PGD with EOT for stochastic models (:func:`advgeom.attacks.robust_scores`); stochastic models are
scored over fresh noise draws, separately from the attack. The unit of an accuracy is the example:
:func:`pgd_scores` keeps, per example, the fraction of scoring draws that classify its attacked
version correctly, cached under ``cache_dir()/robust-scores`` keyed by the model's content
fingerprint, the inputs and every attack setting. :func:`accuracy_sweep` pools the examples of
every seed (each seed: its own images, attack starts and draws) into one accuracy with a t interval
over examples, and gives paired intervals for differences between networks or strengths measured
on the same examples (:meth:`AccuracySweep.difference`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from advgeom.analysis.protocol import DEFAULT_BOUNDS, attack_restarts_for, attack_steps_for
from advgeom.analysis.uncertainty import LEVEL, Estimate, paired_interval, t_interval
from advgeom.attacks import NORMS, SCHEDULES, Bounds, check_bounds, robust_scores
from advgeom.cache import cache_path, cached
from advgeom.checks import check_choice
from advgeom.fingerprint import model_fingerprint, tensor_digest

# 3: stochastic models attacked to their last iterate; 2: a checked cache entry (advgeom.cache); 1: a bare .npy file
SCORES_FORMAT = 3


def encode_scores(scores: np.ndarray) -> bytes:
    """Per-example scores as the payload of a cache entry (an ``.npy`` image, no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(scores, dtype=np.float64), allow_pickle=False)
    return buffer.getvalue()


def decode_scores(payload: bytes) -> np.ndarray:
    """Per-example scores read back from their payload: one finite value in [0, 1] per example, else ValueError."""
    scores = np.load(io.BytesIO(payload), allow_pickle=False)
    bad = scores.ndim != 1 or len(scores) == 0 or not np.all(np.isfinite(scores))
    if bad or scores.min() < 0 or scores.max() > 1:
        raise ValueError(f"per-example scores must be a non-empty vector of fractions in [0, 1], got {scores!r:.80}")
    return scores


def cached_scores(key: Mapping, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Per-example scores cached as a checked entry under ``cache_dir()/robust-scores``
    (:func:`advgeom.cache.cached`)."""
    key = {"format": SCORES_FORMAT, **key}
    return cached(cache_path("robust-scores", key, ".npy"), key, compute, encode_scores, decode_scores)


def pgd_scores(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 16,
    eot: int | None = None,
    n_draws: int | None = None,
    seed: int = 0,
    bounds: Bounds = DEFAULT_BOUNDS,
    deterministic_steps: int | None = None,
    deterministic_restarts: int = 1,
    schedule: str = "constant",
) -> np.ndarray:
    """Per-example scores under PGD (CE then margin loss; :func:`advgeom.attacks.robust_scores`), cached.

    ``eps=0`` gives the clean scores. ``seed`` fixes the attack's random starts and the scoring draws.
    ``deterministic_steps``: the steps when ``model`` is deterministic
    (:func:`~advgeom.analysis.protocol.attack_steps_for`; None: ``steps``); ``deterministic_restarts``: its
    random starts per loss (:func:`~advgeom.analysis.protocol.attack_restarts_for`; a stochastic model: one);
    ``schedule`` the step-size schedule (:func:`advgeom.attacks.schedule_factor`).
    """
    bounds = check_bounds(bounds)
    schedule = check_choice("schedule", schedule, SCHEDULES)
    steps = attack_steps_for(model, steps, deterministic_steps)
    restarts = attack_restarts_for(model, deterministic_restarts)
    key = {"attack": "pgd", "model": model_fingerprint(model), "inputs": tensor_digest(x, y), "eps": float(eps),
           "norm": check_choice("norm", norm, NORMS), "steps": steps, "eot": eot, "n_draws": n_draws, "seed": seed,
           "bounds": None if bounds is None else list(bounds)}  # fmt: skip
    if restarts > 1:  # one start: the key of every entry written before restarts were a setting
        key["restarts"] = restarts
    if schedule != "constant":  # likewise for the step sizes of every entry written before schedules
        key["schedule"] = schedule

    def compute() -> np.ndarray:
        return robust_scores(model, (x, y), eps=eps, norm=norm, steps=steps, eot=eot, n_draws=n_draws, seed=seed,
                             bounds=bounds, restarts=restarts, schedule=schedule)  # fmt: skip

    return cached_scores(key, compute)


@dataclass
class AccuracySweep:
    """The result of :func:`accuracy_sweep`.

    ``table``: one row per (model, norm, eps) with the pooled ``accuracy`` and its interval (``lo``,
    ``hi``, ``half``) over the ``n`` examples of every seed; ``per_seed``: the accuracy of each seed;
    ``scores``: the per-example scores, ``(model, norm, eps) -> array`` (seeds concatenated in order).
    """

    table: pd.DataFrame
    per_seed: pd.DataFrame
    scores: dict[tuple[str, str, float], np.ndarray]
    level: float = LEVEL

    def estimate(self, model: str, norm: str, eps: float) -> Estimate:
        """The accuracy of ``model`` under ``norm`` PGD at ``eps`` with its interval over examples."""
        return t_interval(self._scores(model, norm, eps), self.level)

    def difference(self, a: tuple[str, str, float], b: tuple[str, str, float]) -> Estimate:
        """Accuracy of ``a`` minus that of ``b`` (each ``(model, norm, eps)``), paired over the same examples."""
        return paired_interval(self._scores(*a), self._scores(*b), self.level)

    def _scores(self, model: str, norm: str, eps: float) -> np.ndarray:
        key = (model, norm, float(eps))
        if key not in self.scores:
            raise ValueError(f"no accuracy for {key}; measured: {sorted(self.scores)}")
        return self.scores[key]


def accuracy_sweep(
    models: Mapping[str, nn.Module],
    inputs: Mapping[int, tuple[torch.Tensor, torch.Tensor]],
    eps_grids: Mapping[str, Sequence[float]],
    *,
    steps: int = 16,
    eot: int | None = None,
    n_draws: int | None = None,
    deterministic_steps: int | None = None,
    deterministic_restarts: int = 1,
    schedule: str = "constant",
    progress: bool = True,
    bounds: Bounds = DEFAULT_BOUNDS,
    level: float = LEVEL,
) -> AccuracySweep:
    """Accuracy of each model under PGD (with EOT for stochastic models) for every norm and eps, every seed.

    ``inputs`` maps a seed to the (x, y) attacked with it (its random starts and scoring draws);
    ``eps_grids`` maps a norm to its eps values (0 = clean). Stochastic models are scored over
    ``n_draws`` fresh noise draws (see :func:`advgeom.attacks.accuracy`), separately from the attack.
    ``bounds``: the valid input range (images (0, 1); waveforms (-1, 1)). ``deterministic_steps``: the
    steps of deterministic models (:func:`~advgeom.analysis.protocol.attack_steps_for`; None: ``steps``),
    ``deterministic_restarts`` their random starts per loss (:func:`~advgeom.analysis.protocol.attack_restarts_for`),
    ``schedule`` the attack's step-size schedule (:func:`advgeom.attacks.schedule_factor`).
    """
    from tqdm import tqdm

    for norm in eps_grids:
        check_choice("norm", norm, NORMS)
    bounds = check_bounds(bounds)
    jobs = [(name, norm, float(eps)) for name in models for norm, grid in eps_grids.items() for eps in grid]
    scores: dict[tuple[str, str, float], np.ndarray] = {}
    per_seed, rows = [], []
    for name, norm, eps in tqdm(jobs, desc="accuracy under attack", disable=not progress):
        parts = []
        for seed, (x, y) in inputs.items():
            part = pgd_scores(models[name], x, y, eps=eps, norm=norm, steps=steps, eot=eot, n_draws=n_draws,
                              seed=seed, bounds=bounds, deterministic_steps=deterministic_steps,
                              deterministic_restarts=deterministic_restarts, schedule=schedule)  # fmt: skip
            per_seed.append({"model": name, "norm": norm, "eps": eps, "seed": seed, "accuracy": float(part.mean())})
            parts.append(part)
        scores[(name, norm, eps)] = np.concatenate(parts)
        est = t_interval(scores[(name, norm, eps)], level)
        rows.append({"model": name, "norm": norm, "eps": eps, "accuracy": est.value, "lo": est.lo, "hi": est.hi,
                     "half": est.half, "n": est.n})  # fmt: skip
    return AccuracySweep(pd.DataFrame(rows), pd.DataFrame(per_seed), scores, level)
