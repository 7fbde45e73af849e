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

Backends: ``nnls`` (exact: screen out the ``F = 0`` samples in one matrix product; where the Gram
matrix ``S^T S`` is well conditioned, estimate every sample's active set with a few vectorised
accelerated projected-gradient steps; settle the samples with a vectorised active-set search from
those estimates, or from one ray, whose answers are certified by the KKT conditions; and hand the few
it does not settle to scipy's Lawson-Hanson NNLS) and ``cvxpy`` (the reference problem itself,
one block QP per manifold over all its samples, solved by Clarabel to 1e-12 tolerances), which
checks the NNLS/Moreau reduction independently.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["BACKENDS", "solve_cone"]

BACKENDS = ("nnls", "cvxpy")

_PAD = 4  # active sets of at least this many points are padded to a multiple of it, to batch their solves
_WARM_FACTOR = 3.0  # warm-start steps per sqrt(condition number bound of G)
_WARM_MAX_STEPS = 30  # more would be needed (condition number above 100): start from one ray instead


def _argmax_anchor(S: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Anchor for samples with ``F = 0``: the point maximising ``t_perp . z_j`` (reference ``maxproj``)."""
    j = np.argmax(T[:, :-1] @ S[:-1], axis=1)
    return S[:, j].T.copy()


def _warm_start(S: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Estimated active sets (n, M): the supports after a few accelerated projected-gradient steps, or None.

    The NNLS objective in Gram form, ``1/2 lambda^T G lambda - b^T lambda`` (``G = S^T S``, ``b = S^T x``)
    over ``lambda >= 0``, minimised for all samples at once with step ``1/L`` and the constant momentum
    ``(sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu))`` of Nesterov's method for ``mu``-strongly convex objectives
    (Nesterov 2004, Sec. 2.2), where ``mu <= L`` bound the eigenvalues of ``G`` (Gershgorin's discs of
    ``S S^T``, which has the same eigenvalues when ``M = d``). The error contracts by about ``1 - sqrt(mu / L)``
    per step, so ``_WARM_FACTOR * sqrt(L / mu)`` steps find nearly every active set when ``G`` is well
    conditioned (``M = d`` points of comparable spread in general position, e.g. Gaussian clouds in high
    dimension), sparing the active-set search one step per active point. None when ``M > d`` (``G`` is
    singular) or more than ``_WARM_MAX_STEPS`` steps would be needed: the one-ray start is better there.
    Only a start: the answers are settled and certified by :func:`_active_set`.
    """
    d, M = S.shape
    if M != d:
        return None
    C = S @ S.T
    radius = np.sum(np.abs(C), axis=1) - np.abs(np.diag(C))
    mu, L = np.min(np.diag(C) - radius), np.max(np.diag(C) + radius)
    if mu <= 0 or _WARM_FACTOR * np.sqrt(L / mu) > _WARM_MAX_STEPS:
        return None
    G = S.T @ S
    momentum = (np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))
    lam = y = np.zeros_like(b)
    for _ in range(int(np.ceil(_WARM_FACTOR * np.sqrt(L / mu)))):
        new = np.maximum(y - (y @ G - b) / L, 0.0)
        y = new + momentum * (new - lam)
        lam = new
    return lam > 0


def _bucket(size: np.ndarray, d: int) -> np.ndarray:
    """Width of the batched solve for active sets of ``size`` points: exact below ``_PAD``, else rounded up to
    a multiple of ``_PAD`` (at most ``d``)."""
    return np.where(size < _PAD, size, np.minimum(-(-size // _PAD) * _PAD, d))


def _solve_on_sets(G: np.ndarray, b: np.ndarray, A: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers (n, k) on the active sets, ``G_PP lambda_P = b_P`` for ``P = A[i, :size_i]``, and a flag (n,)
    that is False where the solve failed (an exactly singular ``G_PP``).

    ``G`` and ``b`` carry an identity block and zeros for the padding indices that fill ``A`` beyond each set,
    so the rows are solved in buckets of equal ``width = _bucket(size)``, one ``np.linalg.solve`` each (the
    padding multipliers come out 0).
    """
    lam, ok = np.zeros(A.shape), np.ones(A.shape[0], dtype=bool)
    for k in np.unique(width[width > 0]):
        rows = np.flatnonzero(width == k)
        A_k = A[rows, :k]
        G_k = np.take(G, A_k[:, :, None] * G.shape[1] + A_k[:, None, :])  # G[A_k, A_k] per row, via flat indices
        b_k = b[rows[:, None], A_k]
        try:
            lam[rows, :k] = np.linalg.solve(G_k, b_k[..., None])[..., 0]
        except np.linalg.LinAlgError:  # some G_PP exactly singular: solve one by one and flag those
            for i, r in enumerate(rows):
                try:
                    lam[r, :k] = np.linalg.solve(G_k[i], b_k[i])
                except np.linalg.LinAlgError:
                    ok[r] = False
    return lam, ok


def _active_set(
    S: np.ndarray, x: np.ndarray, b: np.ndarray, start: np.ndarray | None, max_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active-set search for many samples at once, kept only where the KKT conditions certify it.

    Every sample starts from its set in ``start`` (n, M; at most ``d`` points each), or else from the ray
    with the largest normalised projection (the exact answer when one point is active:
    ``|Pi_K x| = max_{y in K, |y| <= 1} x . y``). At each step the least-squares problem
    ``G_PP lambda_P = b_P`` (``G = S^T S``, ``b = S^T x``) is solved on the active set ``P``; if a multiplier
    is not positive, its point leaves the set, otherwise the answer is accepted when ``w = G lambda - b >= 0``
    holds (to rounding; ``w = 0`` on the set) -- with ``lambda > 0`` on the set these are the NNLS optimality
    conditions, so every accepted answer is exact -- and else the most violated point joins the set
    (Lawson & Hanson 1974, Ch. 23, without the interpolation step). Samples not settled within ``max_steps``
    steps (or whose active set becomes singular, inaccurate or larger than ``d``) are returned unsolved for
    the reference solver. Returns ``(solved, F, anchors)``.
    """
    n, M = b.shape
    d = S.shape[0]
    norms = np.linalg.norm(S, axis=0)
    tol = 1e-11 * (1.0 + np.sqrt(np.sum(x * x, axis=1)) * norms.max())
    # Sample i's active set is A[i, :size[i]]; a position q >= size[i] holds the padding index M + q, which
    # addresses an identity block of G, a zero column of S and a zero of b.
    G = np.eye(M + d)
    G[:M, :M] = S.T @ S
    S = np.concatenate([S, np.zeros((d, d))], axis=1)
    b = np.concatenate([b, np.zeros((n, d))], axis=1)
    A = np.tile(M + np.arange(d), (n, 1))
    if start is None:
        A[:, 0], size = np.argmax(b[:, :M] / norms, axis=1), np.ones(n, dtype=int)
    else:
        size = start.sum(axis=1)
        A = np.where(np.arange(d) < size[:, None], np.argsort(~start, axis=1, kind="stable")[:, :d], A)
    solved, F, anchors = np.zeros(n, dtype=bool), np.zeros(n), np.zeros((n, d))
    live = np.arange(n)
    for _ in range(max_steps):
        if not live.size:
            break
        k_l, t = size[live], tol[live]
        width = _bucket(k_l, d)
        k = int(width.max())  # the columns of A in use
        A_l, b_l = A[live, :k], b[live, : M + k]
        lam, ok = _solve_on_sets(G, b_l, A_l, width)
        row = np.arange(live.size)
        at = row[:, None], A_l  # each row's active set
        dense = np.zeros((live.size, M + k))
        dense[at] = lam
        p = dense @ S[:, : M + k].T  # S lambda
        w = p @ S[:, : M + k] - b_l  # G lambda - b
        on = np.arange(k) < k_l[:, None]
        shrink = ok & np.any(on & (lam <= 0), axis=1)
        ok &= ~shrink & np.all(np.abs(w[at]) <= 100 * t[:, None], axis=1)  # an accurate solve: w = 0 on the set
        w[at] = np.inf  # look for the most violated point off the set
        j = np.argmin(w[:, :M], axis=1)
        grow = ok & (w[row, j] < -t)
        done = ok & ~grow & (k_l > 0)  # (an empty set, lambda = 0, is left to the reference solver)
        rows = live[done]
        solved[rows], F[rows] = True, np.sum(p[done] ** 2, axis=1)
        anchors[rows] = p[done] / lam[done].sum(axis=1, keepdims=True)
        # shrink: the point with the most negative multiplier leaves (the set's last point takes its place)
        if shrink.any():
            i = np.flatnonzero(shrink)
            r, q, last = live[i], np.argmin(np.where(on[i], lam[i], np.inf), axis=1), k_l[i] - 1
            A[r, q] = A[r, last]
            A[r, last], size[r] = M + last, last
        # grow: the most violated point joins
        grow &= k_l < d
        i = np.flatnonzero(grow)
        A[live[i], k_l[i]], size[live[i]] = j[i], k_l[i] + 1
        live = live[shrink | grow]
    return solved, F, anchors


def _solve_nnls(S: np.ndarray, T: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``nnls`` backend: screening, the batched active-set search (warm-started where that pays), then
    scipy's Lawson-Hanson NNLS for the samples it leaves."""
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
        start = _warm_start(S, b[todo])
        solved, F_fast, anchors_fast = _active_set(S, x[todo], b[todo], start, max_steps=4 * d + 4)
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
