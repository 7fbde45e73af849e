"""Simulated manifold capacity: the critical number of features for random dichotomies.

Chung, Lee & Sompolinsky 2018 and Cohen et al. 2020 (Methods, "simulated capacity"):
give each of the P manifolds a random label +-1, project all points onto n random Gaussian
directions and ask whether a hyperplane through the origin separates the labelled manifolds
(every point of every manifold on its side). The fraction of separable dichotomies rises with
n; ``n*`` is where it crosses 1/2 and ``alpha_sim = P / n*``. For points this is Cover's
theorem: the fraction is ``cover_fraction(P, n)`` and ``alpha_sim = 2``.

Implementation: for one dichotomy and one Gaussian matrix G, the projected data with n features
are the first n columns of ``X G``, so separability is monotone in n and the smallest separable
n (``n_min``) is found by galloping + bisection with an exact separability test. Default: by
Gordan's theorem, w with ``y_i w . x_i > 0`` for all points exists iff the origin is not in the
convex hull of the ``y_i x_i``, decided by one non-negative least-squares problem; alternative:
a HiGHS linear program (``scipy.optimize.linprog``: maximise t subject to ``y_i w . x_i >= t``,
``|w|_inf <= 1``; separable iff ``t > 0``). The separable fraction at n is the empirical CDF of ``n_min``; ``n*``
interpolates its 1/2 crossing linearly between integers, and a bootstrap over dichotomies gives
the standard error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog, nnls
from tqdm import tqdm

from advgeom.checks import Interval, Options, validate_params
from advgeom.geometry.inputs import as_manifolds

__all__ = ["SimulatedCapacity", "crossing", "simulated_capacity"]

_TOL = 1e-10


@dataclass(frozen=True)
class SimulatedCapacity:
    """Result of :func:`simulated_capacity`.

    ``capacity = P / n_star`` with bootstrap standard error ``capacity_se``; ``n_min`` holds the
    smallest separable feature count of each dichotomy (``inf``: not separable even with all
    features); ``fraction(n)`` is the separable fraction at n features.
    """

    capacity: float
    capacity_se: float
    n_star: float
    P: int
    n_min: np.ndarray = field(repr=False)

    def fraction(self, n: int | np.ndarray) -> np.ndarray:
        """Fraction of the sampled dichotomies separable with ``n`` features."""
        return np.mean(self.n_min[None, :] <= np.atleast_1d(n)[:, None], axis=1)

    def to_dict(self) -> dict[str, float | int]:
        return {"capacity": self.capacity, "capacity_se": self.capacity_se, "n_star": self.n_star, "P": self.P}


def crossing(n_min: np.ndarray) -> float:
    """The feature count where the empirical separable fraction ``mean(n_min <= n)`` crosses 1/2.

    Linear interpolation between the integers around the crossing; ``inf`` if fewer than half
    the dichotomies are ever separable.
    """
    finite = np.sort(n_min[np.isfinite(n_min)])
    K = n_min.size
    if 2 * finite.size < K:
        return float("inf")
    n1 = float(finite[int(np.ceil(K / 2)) - 1])  # smallest n with fraction >= 1/2
    f1 = np.searchsorted(finite, n1, side="right") / K
    f0 = np.searchsorted(finite, n1 - 1, side="right") / K
    return n1 - 1 + (0.5 - f0) / (f1 - f0)


def _separable_lp(Z: np.ndarray) -> bool:
    """LP test: is there w with ``w . z_i > 0`` for all rows z_i? Maximise t s.t. ``w . z_i >= t``, ``|w|_inf <= 1``."""
    n = Z.shape[1]
    A = np.hstack([-Z, np.ones((Z.shape[0], 1))])
    c = np.zeros(n + 1)
    c[-1] = -1.0
    bounds = [(-1.0, 1.0)] * n + [(None, 1.0)]
    res = linprog(c, A_ub=A, b_ub=np.zeros(Z.shape[0]), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - bounded and feasible (w = 0, t = 0) by construction
        raise RuntimeError(f"linear separability LP failed: {res.message}")
    return bool(-res.fun > _TOL)


def _separable_nnls(Z: np.ndarray) -> bool:
    """Gordan test: w with ``w . z_i > 0`` for all i exists iff 0 is not in conv{z_i}, i.e. iff
    ``e = (0, 1)`` is not in cone{(z_i, 1)}: the NNLS residual ``min_{lambda >= 0} |[Z^T; 1] lambda - e|``
    is positive (it is at least ``gamma / sqrt(1 + gamma^2)`` for a unit-norm margin gamma)."""
    A = np.vstack([Z.T, np.ones((1, Z.shape[0]))])
    e = np.zeros(A.shape[0])
    e[-1] = 1.0
    _, residual = nnls(A, e, maxiter=50 * A.shape[1] + 100)
    return bool(residual > _TOL)


_TESTS = {"nnls": _separable_nnls, "lp": _separable_lp}


def _n_min(
    A: np.ndarray, y: np.ndarray, rng: np.random.Generator, guess: int, separable: Callable[[np.ndarray], bool]
) -> float:
    """Smallest n such that the labelled rows of ``A G_n`` are separable, for one Gaussian matrix G whose
    first n columns form ``G_n`` (drawn as needed); inf if none <= r. Galloping from ``guess``, then bisection."""
    r = A.shape[1]
    Y = np.empty((A.shape[0], 0))

    def sep(n: int) -> bool:
        nonlocal Y
        if n > Y.shape[1]:
            Y = np.hstack([Y, A @ rng.standard_normal((r, n - Y.shape[1]))])
        Yn = Y[:, :n]
        norms = np.linalg.norm(Yn, axis=1, keepdims=True)
        return separable(y[:, None] * Yn / np.where(norms > 0, norms, 1.0))

    lo, hi = 0, r + 1  # not separable at lo (n = 0 never is); hi = r + 1 stands for "not even at r"
    guess = int(min(max(guess, 1), r))
    step = max(1, guess // 8)
    if sep(guess):
        hi = guess
        while hi - step > lo and sep(hi - step):
            hi -= step
            step *= 2
        lo = max(lo, hi - step)
    else:
        lo = guess
        while lo + step < hi and not sep(lo + step):
            lo += step
            step *= 2
        hi = min(hi, lo + step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sep(mid):
            hi = mid
        else:
            lo = mid
    return float(hi) if hi <= r else float("inf")


@validate_params(
    {
        "n_dichotomies": Interval(int, 2, None),
        "seed": Interval(int, 0, None),
        "n_bootstrap": Interval(int, 1, None),
        "method": Options(_TESTS),
    }
)
def simulated_capacity(
    manifolds: Sequence[Any],
    n_dichotomies: int = 200,
    seed: int = 0,
    *,
    center: bool = True,
    n_bootstrap: int = 1000,
    method: str = "nnls",
    progress: bool = False,
) -> SimulatedCapacity:
    """Simulated capacity ``P / n*`` of labelled manifolds (points allowed: M_i >= 1).

    Args:
        manifolds: P >= 2 arrays (M_i, N), points as rows.
        n_dichotomies: random dichotomies (each with its own Gaussian projection).
        seed: random seed (labels, projections, bootstrap).
        center: subtract the global mean of all points first (as manifold_analysis does).
        n_bootstrap: bootstrap resamples of the dichotomies for ``capacity_se``.
        method: exact separability test, ``"nnls"`` (Gordan's theorem as a non-negative least
            squares problem; fast) or ``"lp"`` (HiGHS linear program; slower, same answers).
        progress: show a tqdm progress bar over the dichotomies.
    """
    mats = as_manifolds(manifolds, min_points=1)
    separable = _TESTS[method]
    P = len(mats)
    owner = np.repeat(np.arange(P), [m.shape[0] for m in mats])
    X = np.vstack(mats)
    if center:
        X = X - X.mean(axis=0, keepdims=True)
    # A Gaussian projection of X equals one of its coordinates in any orthonormal basis of a space
    # containing its rows: use X itself when N <= sum M_i, else the QR coordinates (sum M_i columns).
    A = np.linalg.qr(X.T)[1].T if X.shape[1] > X.shape[0] else X
    r = A.shape[1]
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    A = A / np.where(norms > 0, norms, 1.0)  # positive row scalings do not change separability
    rng = np.random.default_rng(seed)
    n_min = np.full(n_dichotomies, np.inf)
    guess = max(1, P // 2)
    if np.any(norms > 0):
        for k in tqdm(range(n_dichotomies), desc="dichotomies", disable=not progress, leave=False):
            y = rng.choice([-1.0, 1.0], size=P)[owner]
            n_min[k] = _n_min(A, y, rng, guess, separable)
            done = n_min[: k + 1]
            if np.isfinite(done).any():
                guess = int(np.median(done[np.isfinite(done)]))
    n_star = crossing(n_min)
    if not np.isfinite(n_star):
        warnings.warn(
            f"fewer than half of the {n_dichotomies} dichotomies are separable even with all {r} features; "
            "capacity is below P / rank and is reported as nan",
            RuntimeWarning,
            stacklevel=2,
        )
        return SimulatedCapacity(float("nan"), float("nan"), n_star, P, n_min)
    boot = np.array([crossing(rng.choice(n_min, size=n_min.size)) for _ in range(n_bootstrap)])
    alphas = P / boot
    se = float(np.std(alphas[np.isfinite(alphas)], ddof=1)) if n_bootstrap > 1 else float("nan")
    return SimulatedCapacity(float(P / n_star), se, float(n_star), P, n_min)
