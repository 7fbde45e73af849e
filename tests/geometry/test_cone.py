"""The per-sample cone projection (advgeom.geometry.cone) against scipy's Lawson-Hanson NNLS, sample by sample.

Hard cases for the batched solver: pure Gaussian manifolds (well-conditioned Gram matrix, where the active
sets are estimated by accelerated projected gradient and have ~25 points), many active points (large
margins, up to all ``d``), degenerate points (repeated, collinear, interior to a segment, an ill-conditioned
frame), and negative margins.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from advgeom.geometry import cone
from advgeom.geometry.cone import solve_cone


def _points(Z: np.ndarray) -> np.ndarray:
    """``S`` (d, M): the points ``(z_j, 1)`` of a manifold given in its frame ``Z`` (M, D)."""
    return np.vstack([Z.T, np.ones((1, Z.shape[0]))])


def _frame(X: np.ndarray) -> np.ndarray:
    """Points ``X`` (M, N) in an orthonormal frame of their centered span, as manifold_analysis builds it."""
    U, s, _ = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    D = int(np.sum(s > 1e-10 * s[0]))
    return U[:, :D] * s[:D]


def _gaussian(M: int, N: int, rng: np.random.Generator) -> np.ndarray:
    """The reference README's manifold (M points of ``randn(N)``) in its frame, scaled by its center norm."""
    X = rng.standard_normal((M, N))
    return _frame(X) / np.linalg.norm(X.mean(axis=0))


def _reference(S: np.ndarray, T: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample F, anchors and active-set sizes from scipy.optimize.nnls."""
    x = T.copy()
    x[:, -1] += kappa
    F, anchors, sizes = np.zeros(len(T)), np.full((len(T), S.shape[0]), np.nan), np.zeros(len(T), dtype=int)
    for k, xk in enumerate(x):
        lam, _ = nnls(S, xk, maxiter=100 * S.shape[1])
        p = S @ lam
        F[k], sizes[k] = p @ p, np.sum(lam > 0)
        if lam.sum() > 0:
            anchors[k] = p / lam.sum()
    return F, anchors, sizes


def _assert_matches_nnls(S: np.ndarray, T: np.ndarray, kappa: float) -> np.ndarray:
    """solve_cone equals scipy NNLS on every sample (F to 1e-10 relative, anchors where F > 0); returns the
    active-set sizes."""
    F, anchors = solve_cone(S, T, kappa)
    F_ref, anchors_ref, sizes = _reference(S, T, kappa)
    np.testing.assert_allclose(F, F_ref, rtol=1e-10, atol=1e-12)
    touching = sizes > 0
    np.testing.assert_allclose(anchors[touching], anchors_ref[touching], rtol=1e-8, atol=1e-8)
    return sizes


@pytest.mark.parametrize("kappa", [0.0, 0.5, -0.5])
def test_pure_gaussian_manifolds(kappa: float) -> None:
    """The README example (M=50 points of randn(2000)): a square, well-conditioned S, warm-started,
    with some 20-30 active points per sample."""
    rng = np.random.default_rng(0)
    for _ in range(2):
        S = _points(_gaussian(50, 2000, rng))
        T = rng.standard_normal((200, S.shape[0]))
        x = T.copy()
        x[:, -1] += kappa
        assert cone._warm_start(S, x @ S) is not None
        sizes = _assert_matches_nnls(S, T, kappa)
        assert np.median(sizes) > 15


@pytest.mark.parametrize("kappa", [3.0, 12.0])
def test_many_active_points(kappa: float) -> None:
    """Large margins: most points active; at kappa = 12 many samples with all d = M of them (x inside the cone)."""
    rng = np.random.default_rng(1)
    S = _points(_gaussian(30, 600, rng))
    T = rng.standard_normal((150, S.shape[0]))
    sizes = _assert_matches_nnls(S, T, kappa)
    assert np.median(sizes) > 20
    if kappa == 12.0:
        assert np.mean(sizes == S.shape[0]) > 0.2


@pytest.mark.parametrize("kappa", [0.0, 1.0, -1.0])
def test_ill_conditioned_square_frame(kappa: float) -> None:
    """A square S whose frame spreads span five decades (no warm start: the active-set search starts from one ray)."""
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 19)))
    Z = rng.standard_normal((20, 19)) @ np.diag(np.logspace(1, -4, 19)) @ Q.T
    S = _points(_frame(Z))
    T = rng.standard_normal((300, S.shape[0]))
    x = T.copy()
    x[:, -1] += kappa
    assert cone._warm_start(S, x @ S) is None
    _assert_matches_nnls(S, T, kappa)


@pytest.mark.parametrize("kappa", [0.0, 0.7, -0.7])
def test_degenerate_points(kappa: float) -> None:
    """Repeated points, points in the middle of segments and collinear points (M > d, G singular)."""
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((8, 4))
    middle = 0.5 * (Z[:4] + Z[4:])  # interior to segments between other points
    line = Z[0] + np.linspace(-2.0, 2.0, 5)[:, None] * (Z[1] - Z[0])  # collinear with points 0 and 1
    S = _points(np.concatenate([Z, Z[:3], middle, line]))  # Z[:3] repeated
    T = 2.0 * rng.standard_normal((400, S.shape[0]))
    _assert_matches_nnls(S, T, kappa)


def test_collinear_manifold_in_a_plane() -> None:
    """All points on one line through a 2-D frame: active sets of at most two points, many ties."""
    rng = np.random.default_rng(4)
    Z = np.outer(rng.uniform(-1.0, 1.0, 40), [0.6, 0.8]) + np.array([0.2, -0.1])
    S = _points(Z)
    T = rng.standard_normal((300, 3))
    sizes = _assert_matches_nnls(S, T, 0.3)
    assert sizes.max() <= 2


def test_active_set_certifies_from_any_start() -> None:
    """Wrong start sets (random, empty, full) cost steps but never accuracy: what the search accepts is exact."""
    rng = np.random.default_rng(5)
    S = _points(_gaussian(20, 400, rng))
    T = rng.standard_normal((200, S.shape[0]))
    x, b = T, T @ S
    F_ref, anchors_ref, _ = _reference(S, T, 0.0)
    keep = b.max(axis=1) > 0
    x, b, F_ref, anchors_ref = x[keep], b[keep], F_ref[keep], anchors_ref[keep]
    for start in (rng.random(b.shape) < 0.5, np.zeros(b.shape, dtype=bool), np.ones(b.shape, dtype=bool), None):
        solved, F, anchors = cone._active_set(S, x, b, start, max_steps=4 * S.shape[0] + 4)
        assert solved.mean() > 0.9
        np.testing.assert_allclose(F[solved], F_ref[solved], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(anchors[solved], anchors_ref[solved], rtol=1e-8, atol=1e-8)


def test_reference_solver_takes_what_the_search_leaves() -> None:
    """With two active-set steps most samples are left unsolved; scipy's NNLS settles them exactly."""
    rng = np.random.default_rng(6)
    S = _points(rng.standard_normal((30, 8)))
    T = rng.standard_normal((100, 9))
    x, b = T, T @ S
    solved, _, _ = cone._active_set(S, x, b, None, max_steps=2)
    assert 0 < solved.sum() < len(T)
    _assert_matches_nnls(S, T, 0.0)


def test_screened_samples_have_zero_F_and_the_argmax_anchor() -> None:
    """x in the polar cone: F = 0 exactly, anchor = the point with the largest t_perp . z."""
    rng = np.random.default_rng(7)
    S = _points(rng.standard_normal((10, 3)))
    T = rng.standard_normal((50, 4))
    T[:, -1] = -20.0  # far below every point: s_j . x < 0 for all j
    F, anchors = solve_cone(S, T, 0.0)
    assert np.all(F == 0.0)
    np.testing.assert_array_equal(anchors, S[:, np.argmax(T[:, :-1] @ S[:-1], axis=1)].T)
