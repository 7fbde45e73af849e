"""Batched Riemannian gradient descent on the Stiefel manifold ``{V in R^{n x k}: V^T V = I}``.

Several starting points (restarts) are optimised together as one stack ``(B, n, k)`` so the
per-iteration numpy overhead is paid once. The method is Riemannian gradient descent with
Barzilai-Borwein steps and a Zhang-Hager non-monotone Armijo line search, the scheme of
Wen & Yin (Math. Program. 142:397, 2013), with the QR retraction (Absil, Mahony & Sepulchre,
*Optimization Algorithms on Matrix Manifolds*, 2008, Ch. 4) and the embedded metric, whose
Riemannian gradient is ``G - V sym(V^T G)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["StiefelResult", "minimize_stiefel", "qr_retraction", "riemannian_gradient"]

CostGrad = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def qr_retraction(A: np.ndarray) -> np.ndarray:
    """Q factor of ``A`` (stacked ``(..., n, k)``, n >= k) with a non-negative R diagonal."""
    Q, R = np.linalg.qr(A)
    sign = np.sign(np.diagonal(R, axis1=-2, axis2=-1))
    sign[sign == 0] = 1.0
    return Q * sign[..., None, :]


def riemannian_gradient(V: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Project the Euclidean gradient ``G`` onto the tangent space at ``V`` (embedded metric)."""
    VtG = np.swapaxes(V, -1, -2) @ G
    return G - V @ (0.5 * (VtG + np.swapaxes(VtG, -1, -2)))


@dataclass(frozen=True)
class StiefelResult:
    """Optimised points ``V`` (B, n, k), their costs ``f`` (B,), iterations used and convergence flags."""

    V: np.ndarray
    f: np.ndarray
    n_iter: int
    converged: np.ndarray


def minimize_stiefel(
    cost_grad: CostGrad,
    V0: np.ndarray,
    *,
    max_iter: int = 300,
    gtol: float = 1e-6,
    step0: float = 1e-3,
) -> StiefelResult:
    """Minimise ``cost_grad`` from each of the stacked starts ``V0`` (B, n, k).

    ``cost_grad(V)`` maps a stack ``(b, n, k)`` to costs ``(b,)`` and Euclidean gradients
    ``(b, n, k)``. A start stops once its Riemannian gradient norm is below
    ``gtol * max(1, |f|)`` or after ``max_iter`` iterations.
    """
    V = qr_retraction(np.asarray(V0, dtype=np.float64))
    B = V.shape[0]
    f, G = cost_grad(V)
    rg = riemannian_gradient(V, G)
    step = np.full(B, float(step0))
    ref, weight, eta, delta = f.copy(), np.ones(B), 0.85, 1e-4
    converged = np.zeros(B, dtype=bool)
    stuck_any = np.zeros(B, dtype=bool)  # line search found no descent: frozen where it is
    it = 0
    for it in range(1, max_iter + 1):
        gnorm2 = np.sum(rg * rg, axis=(-1, -2))
        converged |= np.sqrt(gnorm2) <= gtol * np.maximum(1.0, np.abs(f))
        todo = np.flatnonzero(~(converged | stuck_any))
        if todo.size == 0:
            break
        # Non-monotone Armijo backtracking, only for the starts still running. The first try covers all of them
        # (its results are kept as they are); a later one, the starts still pending, with their steps halved.
        trial_step = step[todo]
        pending = np.arange(todo.size)
        moved = np.zeros(todo.size, dtype=bool)
        for attempt in range(40):
            idx = todo[pending]
            cand = qr_retraction(V[idx] - trial_step[pending, None, None] * rg[idx])
            fc, Gc = cost_grad(cand)
            ok = np.isfinite(fc) & (fc <= ref[idx] - delta * trial_step[pending] * gnorm2[idx])
            if attempt == 0:
                new_V, new_f, new_G = cand, fc, Gc
            else:
                new_V[pending[ok]], new_f[pending[ok]], new_G[pending[ok]] = cand[ok], fc[ok], Gc[ok]
            moved[pending[ok]] = True
            pending = pending[~ok]
            if pending.size == 0:
                break
            trial_step[pending] *= 0.5
        if pending.size:
            stuck_any[todo[pending]] = True
            if pending.size == todo.size:
                break
            new_V, new_f, new_G = new_V[moved], new_f[moved], new_G[moved]
        idx = todo[moved]
        new_rg = riemannian_gradient(new_V, new_G)
        s = new_V - V[idx]
        y = new_rg - rg[idx]
        sy = np.abs(np.sum(s * y, axis=(-1, -2)))
        ss = np.sum(s * s, axis=(-1, -2))
        yy = np.sum(y * y, axis=(-1, -2))
        with np.errstate(divide="ignore", invalid="ignore"):
            bb = ss / sy if it % 2 else sy / yy
        bb = np.where(np.isfinite(bb) & (bb > 0), bb, step[idx])
        step[idx] = np.clip(bb, 1e-12, 1e12)
        V[idx], f[idx], G[idx], rg[idx] = new_V, new_f, new_G, new_rg
        new_weight = eta * weight[idx] + 1.0
        ref[idx] = (eta * weight[idx] * ref[idx] + f[idx]) / new_weight
        weight[idx] = new_weight
    return StiefelResult(V=V, f=f, n_iter=it, converged=converged)
