"""The Stiefel-manifold optimiser and the center-correlation cost, against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from advgeom.geometry.centers import center_correlation, squared_cosine_cost
from advgeom.geometry.stiefel import minimize_stiefel, qr_retraction, riemannian_gradient


@pytest.mark.parametrize("step0", [1e-3, 1e3])  # 1e3: the first steps overshoot and every start backtracks
def test_ky_fan_trace_maximisation(step0: float) -> None:
    """max tr(V^T A V) over V^T V = I is the sum of the k largest eigenvalues (Ky Fan), attained on
    the top-k eigenspace: the optimiser must find both from random starts."""
    rng = np.random.default_rng(0)
    n, k = 30, 4
    B = rng.standard_normal((n, n))
    A = B @ B.T / n
    evals, evecs = np.linalg.eigh(A)

    def cost_grad(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        AV = A @ V
        return -np.sum(V * AV, axis=(-1, -2)), -2.0 * AV

    res = minimize_stiefel(cost_grad, rng.standard_normal((3, n, k)), max_iter=3000, gtol=1e-10, step0=step0)
    np.testing.assert_allclose(-res.f, evals[-k:].sum(), rtol=1e-9)
    for V in res.V:
        np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-12)
        overlap = np.linalg.svd(evecs[:, -k:].T @ V, compute_uv=False)
        np.testing.assert_allclose(overlap, 1.0, atol=1e-6)
    assert res.converged.all()


def test_retraction_and_tangent_projection() -> None:
    rng = np.random.default_rng(1)
    V = qr_retraction(rng.standard_normal((2, 9, 3)))
    np.testing.assert_allclose(np.swapaxes(V, -1, -2) @ V, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)
    xi = riemannian_gradient(V, rng.standard_normal((2, 9, 3)))
    VtX = np.swapaxes(V, -1, -2) @ xi
    np.testing.assert_allclose(VtX + np.swapaxes(VtX, -1, -2), 0.0, atol=1e-12)  # tangent: V^T xi skew


def test_squared_cosine_cost_value_and_gradient() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((9, 8))
    V = qr_retraction(rng.standard_normal((1, 8, 2)))
    f, g = squared_cosine_cost(V, X)
    X0 = X - (X @ V[0]) @ V[0].T
    n = np.linalg.norm(X0, axis=1)
    cos = X0 @ X0.T / np.outer(n, n)
    assert f[0] == pytest.approx(0.5 * np.sum(cos**2), rel=1e-12)
    direction = rng.standard_normal(V.shape)
    h = 1e-6
    fd = (squared_cosine_cost(V + h * direction, X)[0] - squared_cosine_cost(V - h * direction, X)[0]) / (2 * h)
    assert fd[0] == pytest.approx(np.sum(g * direction), rel=1e-6)


def test_center_correlation_of_a_regular_simplex() -> None:
    P = 7
    X = np.eye(P) - 1.0 / P  # mean-subtracted orthonormal vectors: all pairwise cos = -1/(P-1)
    assert center_correlation(X) == pytest.approx(1.0 / (P - 1), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 centers"):
        center_correlation(X[:1])
