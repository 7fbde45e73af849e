"""The per-sample problem of mean-field manifold capacity, solved exactly.

Chung, Lee & Sompolinsky, PRX 8:031003 (2018). A manifold is given by its
points ``s_j = (z_j, 1)`` in ``d = D + 1`` dimensions (own frame plus a unit center coordinate),
the columns of ``S`` (d, M). For a Gaussian field ``t`` and margin ``kappa`` the reference problem is

    F(t) = min_v |v - t|^2  subject to  s_j . v <= -kappa  for all j.

Write ``w = v + kappa e_c`` and ``x = t + kappa e_c``; because every ``s_j`` has center coordinate 1,
``s_j . v <= -kappa`` is ``s_j . w <= 0``: ``w`` lies in the polar cone of ``K = cone(S)``. Moreau's
decomposition ``x = Pi_K(x) + Pi_polar(x)`` (orthogonal parts) then gives, for any sign of kappa,

    F(t) = |Pi_K(x)|^2 = |S lambda*|^2,   lambda* = argmin_{lambda >= 0} |S lambda - x|^2   (NNLS),

and ``lambda*`` are the KKT multipliers of the reference problem (``t - v = S lambda*``), so the
anchor point is ``s~ = S lambda* / sum(lambda*)`` (its center coordinate is 1). When
``lambda* = 0`` (``F = 0``, ``x`` already in the polar cone) the anchor is, as in the reference
code, the point with the largest projection ``t_perp . z_j``.

Backends: ``nnls`` (exact: screen out the ``F = 0`` samples in one matrix product, settle the rest
with a vectorised active-set search whose answers are certified by the KKT conditions, and hand the
few it does not settle to scipy's Lawson-Hanson NNLS) and ``cvxpy`` (the reference problem itself,
one block QP per manifold over all its samples, solved by Clarabel to 1e-12 tolerances), which
checks the NNLS/Moreau reduction independently.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["BACKENDS", "solve_cone"]

BACKENDS = ("nnls", "cvxpy")


def _argmax_anchor(S: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Anchor for samples with ``F = 0``: the point maximising ``t_perp . z_j`` (reference ``maxproj``)."""
    j = np.argmax(T[:, :-1] @ S[:-1], axis=1)
    return S[:, j].T.copy()


def _batched_active_set(
    S: np.ndarray, x: np.ndarray, b: np.ndarray, max_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active-set search for many samples at once, kept only where the KKT conditions certify it.

    Every sample starts from the ray with the largest normalised projection (the exact answer when
    one point is active: ``|Pi_K x| = max_{y in K, |y| <= 1} x . y``). At each step the least-squares
    problem on the active set is solved; if a multiplier is not positive, its point leaves the set,
    otherwise the answer is accepted when ``w = S^T (S lambda - x) >= 0`` holds (to rounding; ``w = 0`` on
    the set) -- with ``lambda > 0`` on the set these are the NNLS optimality conditions, so every
    accepted answer is exact -- and else the most violated point joins the set (Lawson & Hanson 1974, Ch. 23, without
    the interpolation step). Samples not settled within ``max_steps`` steps (or whose active set
    becomes singular, empty or larger than ``d``) are returned unsolved for the reference solver.
    Samples are processed in groups of equal active-set size. Returns ``(solved, F, anchors)``.
    """
    n, M = b.shape
    d = S.shape[0]
    gram = S.T @ S
    norms2 = np.diag(gram).copy()
    tol = 1e-11 * (1.0 + np.sqrt(np.sum(x * x, axis=1)) * np.sqrt(norms2.max()))
    solved = np.zeros(n, dtype=bool)
    F = np.zeros(n)
    anchors = np.zeros((n, d))
    groups: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {
        1: [(np.arange(n), np.argmax(b / np.sqrt(norms2), axis=1)[:, None])]
    }
    for _ in range(max_steps):
        if not groups:
            break
        nxt: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for k, parts in groups.items():
            rows = np.concatenate([r for r, _ in parts])
            A = np.concatenate([a for _, a in parts])
            b_A = np.take_along_axis(b[rows], A, axis=1)
            try:
                lam = np.linalg.solve(gram[A[:, :, None], A[:, None, :]], b_A[..., None])[..., 0]
            except np.linalg.LinAlgError:
                continue  # a singular active set: leave this group to the reference solver
            positive = np.all(lam > 0, axis=1)
            # shrink: drop the most negative multiplier's point
            shrink = ~positive
            if k > 1 and shrink.any():
                drop = np.argmin(lam[shrink], axis=1)
                keep = np.ones((int(shrink.sum()), k), dtype=bool)
                keep[np.arange(keep.shape[0]), drop] = False
                nxt.setdefault(k - 1, []).append((rows[shrink], A[shrink][keep].reshape(-1, k - 1)))
            if not positive.any():
                continue
            rows, A, lam = rows[positive], A[positive], lam[positive]
            w = np.einsum("nk,nkm->nm", lam, gram[A]) - b[rows]
            # the active-set solve must be accurate (w = 0 on the set); if not, leave it to the reference solver
            accurate = np.all(np.abs(np.take_along_axis(w, A, axis=1)) <= 100 * tol[rows, None], axis=1)
            rows, A, lam, w = rows[accurate], A[accurate], lam[accurate], w[accurate]
            ok = np.all(w >= -tol[rows, None], axis=1)
            if ok.any():
                p = np.einsum("dnk,nk->nd", S[:, A[ok]], lam[ok])
                solved[rows[ok]] = True
                F[rows[ok]] = np.sum(p * p, axis=1)
                anchors[rows[ok]] = p / lam[ok].sum(axis=1, keepdims=True)
            grow = ~ok
            if k < d and grow.any():
                new = np.argmin(w[grow], axis=1)[:, None]
                nxt.setdefault(k + 1, []).append((rows[grow], np.concatenate([A[grow], new], axis=1)))
        groups = nxt
    return solved, F, anchors


def _solve_nnls(S: np.ndarray, T: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    n_t = T.shape[0]
    d, M = S.shape
    x = T.copy()
    x[:, -1] += kappa
    F = np.zeros(n_t)
    anchors = _argmax_anchor(S, T)
    b = x @ S
    # Screening: x in the polar cone (all s_j . x <= 0) means lambda* = 0 and F = 0 exactly.
    todo = np.flatnonzero(b.max(axis=1) > 0)
    if todo.size:
        solved, F_fast, anchors_fast = _batched_active_set(S, x[todo], b[todo], max_steps=4 * min(d, M) + 4)
        F[todo[solved]] = F_fast[solved]
        anchors[todo[solved]] = anchors_fast[solved]
        todo = todo[~solved]
    for k in todo:
        try:
            lam, _ = nnls(S, x[k], maxiter=50 * M + 100)
        except RuntimeError as err:  # pragma: no cover - Lawson-Hanson terminates finitely in practice
            raise RuntimeError(f"NNLS did not converge for sample {k} (M={M}, d={d})") from err
        total = lam.sum()
        if total <= 0:
            continue
        p = S @ lam
        F[k] = p @ p
        anchors[k] = p / total
    return F, anchors


def _solve_cvxpy(S: np.ndarray, T: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    import cvxpy as cp

    n_t, d = T.shape
    V = cp.Variable((d, n_t))
    problem = cp.Problem(cp.Minimize(cp.sum_squares(V - T.T)), [S.T @ V <= -kappa])
    problem.solve(
        solver=cp.CLARABEL,
        tol_gap_abs=1e-12,
        tol_gap_rel=1e-12,
        tol_feas=1e-12,
        tol_ktratio=1e-10,
        max_iter=500,
    )
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or V.value is None:
        raise RuntimeError(f"cvxpy/Clarabel failed on a manifold block: status {problem.status}")
    diff = T - V.value.T  # = S lambda* per sample
    F = np.sum(diff * diff, axis=1)
    anchors = _argmax_anchor(S, T)
    touching = diff[:, -1] > 1e-9
    anchors[touching] = diff[touching] / diff[touching, -1:]
    F[~touching] = np.where(F[~touching] < 1e-12, 0.0, F[~touching])
    return F, anchors


def solve_cone(S: np.ndarray, T: np.ndarray, kappa: float, backend: str = "nnls") -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ``F(t)`` (n_t,) and anchor points (n_t, d) for points ``S`` (d, M) and fields ``T`` (n_t, d)."""
    if backend == "nnls":
        return _solve_nnls(S, T, kappa)
    if backend == "cvxpy":
        return _solve_cvxpy(S, T, kappa)
    raise ValueError(f"backend={backend!r} is not allowed; choose one of {list(BACKENDS)}")
