"""Intervals for the numbers the book reports, and findings asserted on them.

Two sources of uncertainty, handled the same way everywhere:

* **over seeds**: a chapter repeats every measurement for several seeds (image subsets, attack
  starts, noise draws, projections, MFTMA samples); the mean over seeds gets a Student-t interval
  (:func:`t_interval`), which contains the within-run sampling noise too;
* **within one run**: with a single seed, the run's own standard error (MFTMA's spread over its
  Gaussian samples; an accuracy's spread over images) gives a normal interval (:func:`normal_interval`).

Differences between two conditions measured on the same seeds (the same images and draws) are
*paired*: their interval is the interval of the per-seed (or per-example) differences
(:func:`paired_interval`), much tighter than two separate intervals when the conditions share noise.
A finding is then asserted as "the interval of the difference excludes zero on the predicted side"
(:func:`check_difference`), or, when a run is too small to establish it (a test preset), as "the
data do not contradict it" (the interval does not lie entirely on the wrong side).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Estimate",
    "Optimum",
    "bootstrap_argmax",
    "check_difference",
    "normal_interval",
    "paired_interval",
    "summarise_over_seeds",
    "t_interval",
]

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A value with its interval: ``value`` and ``half`` (the half-width at ``level``), over ``n`` values.

    ``lo``/``hi`` are ``value -+ half``; ``half`` is NaN when there is nothing to estimate it from.
    ``str`` gives ``value ± half`` as the prose glues it.
    """

    value: float
    half: float
    n: int
    level: float = LEVEL

    @property
    def lo(self) -> float:
        return self.value - self.half

    @property
    def hi(self) -> float:
        return self.value + self.half

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero."""
        return bool(self.lo > 0 or self.hi < 0)

    def format(self, digits: int = 3) -> str:
        """``value ± half`` with ``digits`` decimals (just the value when there is no interval)."""
        if math.isnan(self.half):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} ± {self.half:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r} must be in (0, 1)")
    return float(stats.norm.ppf(0.5 + level / 2))


def t_interval(values: Sequence[float] | np.ndarray, level: float = LEVEL) -> Estimate:
    """Mean of ``values`` with its Student-t interval (``n - 1`` degrees of freedom); no interval for one value."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("t_interval needs at least one value")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"t_interval got non-finite values {x.tolist()}")
    _z(level)
    if x.size == 1:
        return Estimate(float(x[0]), float("nan"), 1, level)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Estimate(float(x.mean()), half, int(x.size), level)


def normal_interval(value: float, se: float, level: float = LEVEL, n: int = 1) -> Estimate:
    """``value`` with the normal interval ``value -+ z * se`` (a run's own standard error ``se``)."""
    return Estimate(float(value), _z(level) * float(se), n, level)


def paired_interval(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, level: float = LEVEL) -> Estimate:
    """Mean of the paired differences ``a - b`` (same seeds or same examples) with its t interval."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values must match: {a.shape} vs {b.shape}")
    return t_interval(a - b, level)


def summarise_over_seeds(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    by: Sequence[str],
    *,
    se: dict[str, str] | None = None,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Mean over seeds of each of ``metrics`` per group of ``by``, with its interval.

    Adds, per metric ``m``, the columns ``m_lo``, ``m_hi`` and ``m_half``: the t interval over the
    seeds of the group when it has two or more, else (one seed) the normal interval from the run's own
    standard error in column ``se[m]`` when given (NaN otherwise). ``n_seeds`` counts the rows.
    """
    _z(level)
    se = dict(se or {})
    rows = []
    for key, group in frame.groupby(list(by), sort=True, dropna=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row["n_seeds"] = len(group)
        for m in metrics:
            if len(group) > 1:
                est = t_interval(group[m].to_numpy(), level)
            elif m in se and se[m] in group:
                est = normal_interval(group[m].iloc[0], group[se[m]].iloc[0], level)
            else:
                est = Estimate(float(group[m].iloc[0]), float("nan"), 1, level)
            row.update({m: est.value, f"{m}_lo": est.lo, f"{m}_hi": est.hi, f"{m}_half": est.half})
        rows.append(row)
    return pd.DataFrame(rows)


def check_difference(
    difference: Estimate, name: str, expect: str = "positive", *, establish: bool = True
) -> Estimate:
    """Assert a finding about a difference and return it.

    ``expect="positive"`` (or ``"negative"``): the difference should be above (below) zero.
    ``establish=True``: its interval must exclude zero on that side (with one value and no interval,
    the value itself must be on that side). ``establish=False`` (a run too small to establish the
    finding): the interval must not lie entirely on the wrong side (the data do not contradict it).
    """
    if expect not in ("positive", "negative"):
        raise ValueError(f"expect={expect!r} must be 'positive' or 'negative'")
    sign = 1.0 if expect == "positive" else -1.0
    lo, hi = sorted((sign * difference.lo, sign * difference.hi))
    if math.isnan(difference.half):
        lo = hi = sign * difference.value
    if establish:
        assert lo > 0, f"{name}: expected a {expect} difference, got {difference} (interval includes or crosses 0)"
    else:
        side = "below" if sign > 0 else "above"
        assert hi >= 0, f"{name}: the data contradict the finding: {difference} lies entirely {side} 0"
    return difference


@dataclass(frozen=True)
class Optimum:
    """Where a measure peaks over a grid (:func:`bootstrap_argmax`): the ``best`` grid value, the bootstrap
    percentile interval ``lo``..``hi`` of where the peak lies, and ``share``: the fraction of bootstrap samples
    that peak at ``best``."""

    best: float
    lo: float
    hi: float
    share: float


def bootstrap_argmax(
    scores: dict[float, np.ndarray], *, n_boot: int = 2000, seed: int = 0, level: float = LEVEL
) -> Optimum:
    """The grid value whose mean per-example score is largest, and the interval of where the peak lies.

    ``scores`` maps each grid value (e.g. a noise level) to per-example scores measured on the SAME examples
    (the same images, attack starts and scoring draws for every level). The bootstrap resamples the
    examples (Efron & Tibshirani 1993), the same resample for every level, and takes the peak of each
    resample; ``lo``/``hi`` are the percentiles of those peaks at ``level``.
    """
    _z(level)
    grid = sorted(scores)
    table = np.stack([np.asarray(scores[g], dtype=np.float64) for g in grid])  # (levels, examples)
    n = table.shape[1]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(n_boot, n))
    peaks = np.asarray(grid)[np.argmax(table[:, picks].mean(axis=2), axis=0)]
    best = grid[int(np.argmax(table.mean(axis=1)))]
    lo, hi = np.quantile(peaks, [0.5 - level / 2, 0.5 + level / 2], method="nearest")
    return Optimum(float(best), float(lo), float(hi), float(np.mean(peaks == best)))
