"""Center correlations and the removal of a shared low-rank center subspace.

Cohen, Chung, Lee & Sompolinsky, Nat. Commun. 11:746 (2020), Methods ("Manifold center
correlations"): the manifold centers of real data share a few directions that make them
correlated, which mean-field capacity assumes away. Those ``K`` directions ``V`` (an ``N x K``
orthonormal matrix) are found by minimising the summed squared cosines of the residual centers
``x_m - V V^T x_m`` over the Stiefel manifold, for increasing ``K``, with restarts; ``K`` is the one
with the smallest mean ``|cos|``. Everything is done in the (at most P-1)-dimensional span of
the mean-subtracted centers, so the cost does not grow with the ambient dimension ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advgeom.geometry.stiefel import minimize_stiefel, qr_retraction

__all__ = ["CenterSubspace", "center_correlation", "find_center_subspace", "squared_cosine_cost"]


def center_correlation(X: np.ndarray) -> float:
    """Mean ``|cos|`` over distinct pairs of rows of ``X`` (rows: centers, zero rows ignored as 0)."""
    X = np.asarray(X, dtype=np.float64)
    P = X.shape[0]
    if P < 2:
        raise ValueError(f"center_correlation needs at least 2 centers, got {P}")
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    cos = (X @ X.T) / np.outer(safe, safe)
    np.fill_diagonal(cos, 0.0)
    return float(np.abs(cos).sum() / (P * (P - 1)))


def squared_cosine_cost(V: np.ndarray, X: np.ndarray, C: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``f(V) = 1/2 sum_{m,n} cos^2(x0_m, x0_n)`` with ``x0 = (I - V V^T) x``, and its Euclidean gradient.

    ``V`` is a stack ``(B, r, K)``, ``X`` is ``(P, r)``, ``C = X X^T`` may be passed precomputed.
    With ``c = X V``, ``E = C - c c^T``, ``e = diag(E)``, ``u = e^{-1/2}`` and the residual cosines
    ``Q = u_m E_mn u_n``: ``f = 1/2 sum Q^2`` and ``df/dV = 2 X^T (u^2 rowsum(Q^2) * c - u * (Q (u * c)))``.
    (The cost of the reference implementation, written in closed form.)
    """
    if C is None:
        C = X @ X.T
    c = X @ V  # (B, P, K)
    E = C - c @ np.swapaxes(c, -1, -2)
    e = np.diagonal(C) - np.sum(c * c, axis=-1)
    u = 1.0 / np.sqrt(np.maximum(e, 1e-300 + 1e-14 * np.diagonal(C)))
    Q = E * u[..., :, None]
    Q *= u[..., None, :]
    Q2 = Q * Q
    row = Q2.sum(axis=-1)
    f = 0.5 * row.sum(axis=-1)
    uc = u[..., None] * c
    inner = (u * u * row)[..., None] * c - u[..., None] * (Q @ uc)
    return f, 2.0 * (X.T @ inner)


@dataclass(frozen=True)
class CenterSubspace:
    """Result of :func:`find_center_subspace`.

    ``basis``: ``(N, K)`` orthonormal directions to project out (``K`` may be 0);
    ``correlation``: mean ``|cos|`` of the mean-subtracted centers before removal;
    ``residual_correlations``: the same after removing ``k = 0, 1, ...`` optimised directions.
    """

    basis: np.ndarray
    correlation: float
    residual_correlations: tuple[float, ...]

    @property
    def K(self) -> int:
        return int(self.basis.shape[1])

    @property
    def residual_correlation(self) -> float:
        return float(self.residual_correlations[self.K])


def _residual_correlation(X: np.ndarray, V: np.ndarray) -> float:
    return center_correlation(X - (X @ V) @ V.T)


def _stability(X: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Smallest fraction of a center's norm left after projecting out ``V`` (per start)."""
    left = np.linalg.norm(X[None] - (X @ V) @ np.swapaxes(V, -1, -2), axis=-1)
    return np.min(left / np.linalg.norm(X, axis=1), axis=-1)


def find_center_subspace(
    centers: np.ndarray,
    rng: np.random.Generator,
    *,
    n_restarts: int = 5,
    max_K: int | None = None,
    patience: int = 3,
    max_iter: int = 100,
    gtol: float = 1e-6,
) -> CenterSubspace:
    """Find the shared center subspace of ``centers`` (P, N) (Cohen et al. 2020, Methods).

    For ``K = 1, 2, ...`` the previous solution plus one random combination of centers starts
    ``n_restarts`` Stiefel optimisations of :func:`squared_cosine_cost`; as in the reference
    code the start whose residual centers keep the largest minimum norm fraction wins. ``K``
    stops growing once the residual correlation has risen ``patience`` times in a row or at
    ``max_K`` (default, the reference's rule: 11 plus the 0-based index of the last principal
    component whose cumulative variance fraction is below 0.95, 0 if none), capped at
    ``rank - 1``; the returned ``K`` (which can be 0, no removal) minimises the residual correlation.
    """
    centers = np.asarray(centers, dtype=np.float64)
    P, N = centers.shape
    Xb = centers - centers.mean(axis=0, keepdims=True)
    U, s, Wt = np.linalg.svd(Xb, full_matrices=False)
    tol = s[0] * max(P, N) * np.finfo(np.float64).eps if s.size and s[0] > 0 else 0.0
    r = int(np.sum(s > tol))
    X = U[:, :r] * s[:r]  # centers in an orthonormal basis Wt[:r] of their span
    corr0 = center_correlation(X) if r > 0 else 0.0
    residuals = [corr0]
    if r > 0:
        cum = np.cumsum(s[:r] ** 2) / np.sum(s[:r] ** 2)
        below = np.flatnonzero(cum < 0.95)
        default_max = (int(below[-1]) if below.size else 0) + 11
    else:
        default_max = 0
    K_cap = min(default_max if max_K is None else int(max_K), r - 1)
    C = X @ X.T
    solutions: list[np.ndarray] = [np.zeros((r, 0))]
    V = np.zeros((r, 0))
    for K in range(1, K_cap + 1):
        new = (rng.standard_normal((n_restarts, P)) @ X)[:, :, None]
        V0 = np.concatenate([new, np.broadcast_to(V, (n_restarts, r, K - 1))], axis=2)
        res = minimize_stiefel(lambda W: squared_cosine_cost(W, X, C), qr_retraction(V0), max_iter=max_iter, gtol=gtol)
        V = res.V[int(np.argmax(_stability(X, res.V)))]
        solutions.append(V)
        residuals.append(_residual_correlation(X, V))
        tail = residuals[-(patience + 1) :]
        if len(tail) == patience + 1 and all(b > a for a, b in zip(tail[:-1], tail[1:], strict=True)):
            break
    best = int(np.argmin(residuals))
    basis = Wt[:r].T @ solutions[best] if r > 0 else np.zeros((N, 0))
    return CenterSubspace(basis=basis, correlation=corr0, residual_correlations=tuple(residuals))
