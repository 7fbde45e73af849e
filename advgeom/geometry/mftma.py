"""Mean-field theoretic manifold analysis (MFTMA): capacity, radius and dimension of manifolds.

Chung, Lee & Sompolinsky, PRX 8:031003 (2018); Cohen, Chung, Lee & Sompolinsky, Nat. Commun.
11:746 (2020); definitions as in the reference code (schung039/neural_manifolds_replicaMFT,
``manifold_analysis_corr``), re-implemented:

1. subtract the global mean of all points;
2. center correlation: mean ``|cos|`` between the mean-subtracted manifold centers; find and
   project out the shared center subspace (:mod:`advgeom.geometry.centers`);
3. per manifold: subtract its center, divide by the norm of its (projected) center, write the
   points in an orthonormal frame of their own span with its *true* rank D (the reference's QR
   frame keeps an empty direction, so a segment got D_M ~ 0.81 instead of 1) and append the
   constant center coordinate 1;
4. sample ``t ~ N(0, I_{D+1})``; per sample solve the cone projection exactly
   (:mod:`advgeom.geometry.cone`) giving ``F(t)`` and the anchor point ``s~(t)``;
5. ``1/alpha_i = mean_t F``, ``R_i^2 = |s~_perp - mean s~_perp|^2`` averaged with ``n_t - 1``,
   ``D_i = D * (mean_t cos(t_perp, s~_perp))^2`` (PRX 2018 Eqs. 16-17, 28 and 29 in the numbering the
   reference code cites); aggregate capacity ``1 / mean_i(1/alpha_i)``, radius and dimension as means
   over manifolds.

A manifold of rank 0 (all points equal) is a point: its ``1/alpha`` is the exact Gardner value
``1/alpha0(kappa)`` (2 at kappa = 0), with radius 0 and dimension 0.

Deviations from the reference code, on purpose: the frame has the true rank (above); K = 0 (no
removal) is a candidate, so P = 2 and centers without shared structure work; the per-sample
problem is solved exactly as NNLS instead of by cvxopt at 1e-12 (which reports non-optimal
statuses); the Stiefel search uses 5 batched restarts of Riemannian Barzilai-Borwein descent
capped at 100 iterations (reference: 10 restarts of pymanopt conjugate gradients); the radius
divides by ``n_t - 1`` (above). Every aggregate comes with its standard error over the Gaussian
samples (``capacity_se``, ``radius_se``, ``dimension_se``) and :meth:`ManifoldAnalysis.interval`;
their coverage is tested on segments, whose exact values the theory module gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from advgeom.checks import Interval, Options, validate_params
from advgeom.geometry import theory
from advgeom.geometry.centers import center_correlation, find_center_subspace
from advgeom.geometry.cone import BACKENDS, solve_cone
from advgeom.geometry.inputs import as_manifolds, single_blas_thread
from advgeom.geometry.theory import KAPPA_CONSTRAINT
from advgeom.timing import timed

__all__ = ["ManifoldAnalysis", "PerManifold", "manifold_analysis"]


@dataclass(frozen=True)
class PerManifold:
    """Per-manifold results, arrays of length P; ``*_se``: standard errors over the Gaussian samples t
    (``inv_capacity_se`` of ``1/alpha_i``, ``radius_se`` and ``dimension_se`` by the delta method)."""

    capacity: np.ndarray
    radius: np.ndarray
    dimension: np.ndarray
    rank: np.ndarray
    center_norm: np.ndarray
    inv_capacity_se: np.ndarray
    radius_se: np.ndarray
    dimension_se: np.ndarray

    def to_frame(self) -> Any:
        """The per-manifold results as a pandas DataFrame (one row per manifold)."""
        import pandas as pd

        return pd.DataFrame({k: getattr(self, k) for k in self.__dataclass_fields__})


@dataclass(frozen=True)
class ManifoldAnalysis:
    """Result of :func:`manifold_analysis`.

    ``capacity`` = ``1/mean_i(1/alpha_i)`` with standard error ``capacity_se``; ``radius``,
    ``dimension`` = means over manifolds, with ``radius_se``, ``dimension_se``. The standard errors
    are those of the sampling of t (the manifolds are taken as given), from the per-sample spread of
    F, of the anchors' spread and of the cosines (delta method); :meth:`interval` turns them into
    confidence intervals. ``center_correlation`` = mean |cos| of the mean-subtracted centers before
    removal, ``residual_correlation`` after removing ``K`` directions.
    """

    capacity: float
    capacity_se: float
    radius: float
    radius_se: float
    dimension: float
    dimension_se: float
    center_correlation: float
    residual_correlation: float
    K: int
    kappa: float
    n_t: int
    P: int
    N: int
    backend: str
    per_manifold: PerManifold = field(repr=False)

    def to_dict(self) -> dict[str, float | int | str]:
        """The scalar results (one DataFrame row)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "per_manifold"}

    def interval(self, metric: str = "capacity", level: float = 0.95) -> tuple[float, float]:
        """Normal confidence interval ``(lo, hi)`` of ``capacity``, ``radius`` or ``dimension`` at ``level``,
        from its standard error over the Gaussian samples (the t-sampling uncertainty of this analysis)."""
        from scipy import stats

        if metric not in ("capacity", "radius", "dimension"):
            raise ValueError(f"metric={metric!r} is not allowed; choose one of ['capacity', 'radius', 'dimension']")
        if not 0.0 < level < 1.0:
            raise ValueError(f"level={level!r} must be in (0, 1)")
        value, se = getattr(self, metric), getattr(self, f"{metric}_se")
        half = float(stats.norm.ppf(0.5 + level / 2)) * se
        return value - half, value + half


def _frame(dev: np.ndarray, basis: np.ndarray, center_norm: float, rank_tol: float) -> np.ndarray:
    """Coordinates (M, D) of the deviations ``dev`` (M, N), with ``basis`` projected out and divided by
    ``center_norm``, in an orthonormal frame of their span; D is the numerical rank.

    Eigen-decomposition of the smaller of the Gram (M x M) and covariance (N x N) matrices.
    """
    M, N = dev.shape
    proj = dev @ basis
    if M <= N:
        lam, U = np.linalg.eigh((dev @ dev.T - proj @ proj.T) / center_norm**2)
    else:
        dev = (dev - proj @ basis.T) / center_norm
        lam, W = np.linalg.eigh(dev.T @ dev)
    lam = lam[::-1]
    floor = max(rank_tol**2 * M, 64 * max(M, N) * np.finfo(np.float64).eps * max(lam[0], 0.0))
    D = int(np.sum(lam > floor))
    if M <= N:
        return U[:, ::-1][:, :D] * np.sqrt(lam[:D])
    return dev @ W[:, ::-1][:, :D]


def _tilt(Z: np.ndarray, kappa: float) -> float:
    """The shift of the center coordinate of the samples that estimate ``1/alpha`` at margin ``kappa``.

    For ``kappa < 0`` a sample contributes (``F > 0``) only when ``t0 + max_j z_j . t_perp > -kappa``: at
    kappa = -5 almost never (P ~ 3e-7 for points), so the plain mean of F was 0 and the capacity inf.
    Importance sampling: draw ``t0`` from ``N(mu, 1)``, ``mu = -kappa / (1 + r^2)`` (the most likely
    contributing field of a ball of the manifold's largest radius r), and weight each F by
    ``phi(t0) / phi(t0 - mu)``; unbiased, and finite. No shift (``mu = 0``) for ``kappa >= 0``.
    """
    if kappa >= 0:
        return 0.0
    r2 = float(np.max(np.sum(Z * Z, axis=1)))
    return -kappa / (1.0 + r2)


def _inverse_capacity(
    S: np.ndarray, T: np.ndarray, kappa: float, backend: str, mu: float, F: np.ndarray
) -> tuple[float, float]:
    """``1/alpha`` and its standard error: the mean of ``F`` over ``T``, or for ``mu > 0`` the importance-sampled
    mean over ``T`` with its center coordinate shifted by ``mu`` (see :func:`_tilt`)."""
    n_t = T.shape[0]
    if mu > 0:
        shifted = T.copy()
        shifted[:, -1] += mu
        F, _ = solve_cone(S, shifted, kappa, backend)
        F = F * np.exp(-mu * shifted[:, -1] + 0.5 * mu * mu)  # phi(t0) / phi(t0 - mu)
    se = float(F.std(ddof=1) / np.sqrt(n_t)) if n_t > 1 else float("nan")
    return float(F.mean()), se


def _per_manifold(Z: np.ndarray, T: np.ndarray, kappa: float, backend: str) -> tuple[float, ...]:
    """(1/alpha, R, D_M) of one manifold in its frame ``Z`` (M, D), fields ``T`` (n_t, D+1), each followed by its
    standard error over the samples.

    Radius and dimension are means over the fields ``T``; ``1/alpha`` too, importance-sampled for negative
    margins (:func:`_tilt`). ``R^2`` is a mean of squared anchor deviations and ``D_M = D c^2`` a function of
    the mean cosine ``c``, so ``se(R) = se(R^2) / 2R`` and ``se(D_M) = 2 D |c| se(c)``.
    """
    M, D = Z.shape
    n_t = T.shape[0]
    S = np.vstack([Z.T, np.ones((1, M))])
    F, anchors = solve_cone(S, T, kappa, backend)
    inv_alpha, se = _inverse_capacity(S, T, kappa, backend, _tilt(Z, kappa), F)
    s_perp = anchors[:, :-1] / anchors[:, -1:]
    dev = s_perp - s_perp.mean(axis=0, keepdims=True)
    sq = np.sum(dev * dev, axis=1)
    # n_t - 1: the deviations are from the sample mean of the anchors (the reference divides by n_t, which
    # shrinks R by sqrt(1 - 1/n_t): 0.5% at n_t = 100, as much as R's sampling error there)
    radius = float(np.sqrt(sq.sum() / max(n_t - 1, 1)))
    t_perp = T[:, :-1]
    t_hat = t_perp / np.linalg.norm(t_perp, axis=1, keepdims=True)
    s_hat = anchors[:, :-1] / np.sqrt(np.sum(anchors[:, :-1] ** 2, axis=1, keepdims=True) + 1e-12)
    cos = np.sum(t_hat * s_hat, axis=1)
    dimension = float(D * np.mean(cos) ** 2)
    if n_t < 2:
        return inv_alpha, se, radius, float("nan"), dimension, float("nan")
    root_n = np.sqrt(n_t)
    radius_se = float(sq.std(ddof=1) / root_n / (2 * radius)) if radius > 0 else 0.0
    dimension_se = float(2 * D * abs(np.mean(cos)) * cos.std(ddof=1) / root_n)
    return inv_alpha, se, radius, radius_se, dimension, dimension_se


@single_blas_thread
@validate_params(
    {
        "kappa": KAPPA_CONSTRAINT,
        "n_t": Interval(int, 1, None),
        "seed": Interval(int, 0, None),
        "backend": Options(BACKENDS),
        "n_restarts": Interval(int, 1, None),
        "max_K": [Interval(int, 0, None), None],
        "center_max_iter": Interval(int, 1, None),
        "rank_tol": Interval(float, 0.0, None),
    }
)
@timed("geometry")
def manifold_analysis(
    manifolds: Sequence[Any],
    kappa: float = 0.0,
    n_t: int = 200,
    seed: int = 0,
    backend: str = "nnls",
    *,
    remove_center_correlation: bool = True,
    n_restarts: int = 5,
    max_K: int | None = None,
    center_max_iter: int = 100,
    rank_tol: float = 1e-6,
    progress: bool = False,
) -> ManifoldAnalysis:
    """Manifold capacity, radius and dimension (MFTMA; Chung et al. 2018, Cohen et al. 2020).

    Args:
        manifolds: P >= 2 arrays (numpy or torch), manifold i of shape (M_i >= 2, N), points as rows.
        kappa: margin, in [-37, 1e150] (:data:`~advgeom.geometry.theory.KAPPA_RANGE`: beyond, capacities are
            not float64 numbers); negative margins are importance-sampled, so the capacity stays finite.
        n_t: Gaussian samples per manifold.
        seed: seeds both the t samples and the center-subspace restarts (independent streams).
        backend: ``"nnls"`` (exact, fast) or ``"cvxpy"`` (reference QP, slow; a cross-check).
        remove_center_correlation: find and project out the shared center subspace (default, as
            in the reference); ``False`` keeps K = 0.
        n_restarts: restarts of the Stiefel optimisation for each K (optimised together as a batch).
        max_K: largest K tried (default: the reference's rule, see ``find_center_subspace``).
        center_max_iter: iteration cap of each Stiefel optimisation (the residual correlation is
            stable to ~1e-3 relative from 50 iterations on; the reference allows 1000).
        rank_tol: a frame direction is kept if its RMS spread exceeds ``rank_tol`` times the
            manifold's center norm (below that it is float noise; all-equal points are a point).
        progress: show a tqdm progress bar over the manifolds (useful with the slow cvxpy backend).
    """
    mats = as_manifolds(manifolds, min_points=2)
    P, N = len(mats), mats[0].shape[1]
    center_seq, t_seq = np.random.SeedSequence(seed).spawn(2)

    centers = np.stack([m.mean(axis=0) for m in mats])
    sizes = np.array([m.shape[0] for m in mats], dtype=np.float64)
    origin = sizes @ centers / sizes.sum()
    if remove_center_correlation:
        sub = find_center_subspace(
            centers, np.random.default_rng(center_seq), n_restarts=n_restarts, max_K=max_K, max_iter=center_max_iter
        )
        basis, corr0, resid = sub.basis, sub.correlation, sub.residual_correlation
    else:
        basis = np.zeros((N, 0))
        corr0 = resid = center_correlation(centers - centers.mean(axis=0))

    c = centers - origin
    c_proj = c - (c @ basis) @ basis.T
    center_norm = np.linalg.norm(c_proj, axis=1)
    scale = np.maximum(np.linalg.norm(centers, axis=1), np.linalg.norm(origin))
    for i in np.flatnonzero(center_norm <= 1e-10 * scale):
        raise ValueError(
            f"manifold {i}'s center coincides with the global mean of all points (after removing the "
            f"shared center subspace); its capacity is undefined: center norm {center_norm[i]:.3g}"
        )

    inv_alpha, inv_se = np.empty(P), np.zeros(P)
    radius, dimension, rank = np.zeros(P), np.zeros(P), np.zeros(P, dtype=int)
    radius_se, dimension_se = np.zeros(P), np.zeros(P)
    point_inv = theory.inverse_alpha0(kappa)
    loop = enumerate(zip(mats, t_seq.spawn(P), strict=True))
    for i, (m, t_child) in tqdm(loop, total=P, desc="manifolds", disable=not progress, leave=False):
        Z = _frame(m - centers[i], basis, center_norm[i], rank_tol)
        rank[i] = Z.shape[1]
        if rank[i] == 0:
            inv_alpha[i] = point_inv
            continue
        T = np.random.default_rng(t_child).standard_normal((n_t, rank[i] + 1))
        inv_alpha[i], inv_se[i], radius[i], radius_se[i], dimension[i], dimension_se[i] = _per_manifold(
            Z, T, kappa, backend
        )
        if not inv_alpha[i] > 0:
            raise ValueError(
                f"manifold {i}: none of the n_t={n_t} samples reached it (F = 0 for all), so its capacity estimate "
                "would be infinite; use more samples (n_t)"
            )

    cap_i = 1.0 / inv_alpha
    capacity = 1.0 / inv_alpha.mean()
    capacity_se = capacity * (np.sqrt(np.sum(inv_se**2)) / P) / inv_alpha.mean()  # capacity^2 * SE: no overflow
    per = PerManifold(
        capacity=cap_i, radius=radius, dimension=dimension, rank=rank, center_norm=center_norm, inv_capacity_se=inv_se,
        radius_se=radius_se, dimension_se=dimension_se,
    )  # fmt: skip
    return ManifoldAnalysis(
        capacity=float(capacity),
        capacity_se=float(capacity_se),
        radius=float(radius.mean()),
        radius_se=float(np.sqrt(np.sum(radius_se**2)) / P),
        dimension=float(dimension.mean()),
        dimension_se=float(np.sqrt(np.sum(dimension_se**2)) / P),
        center_correlation=float(corr0),
        residual_correlation=float(resid),
        K=int(basis.shape[1]),
        kappa=kappa,
        n_t=n_t,
        P=P,
        N=N,
        backend=backend,
        per_manifold=per,
    )
