"""manifold_analysis against exact theory (Gardner points, L2 balls), backends and input validation.

Statistical tolerances use the per-sample standard error of F: the aggregate ``1/alpha`` is a mean
of P * n_t independent F values, so its standard error is ``sqrt(sum_i se_i^2) / P`` (reported as
``capacity_se`` after the delta method). Checks allow 4 standard errors (seeds fixed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from advgeom.geometry import ManifoldAnalysis, manifold_analysis, theory
from advgeom.geometry.synthetic import ball_manifolds, gaussian_manifolds

Z = 4.0  # allowed standard errors


def _inverse_capacity_check(res: ManifoldAnalysis, expected_inverse: float) -> float:
    """z-score of the measured 1/alpha against the expected one."""
    se = float(np.sqrt(np.sum(res.per_manifold.inv_capacity_se**2)) / res.P)
    return (1.0 / res.capacity - expected_inverse) / se


def _ball_expectation(res: ManifoldAnalysis, R: float, D: int, kappa: float) -> float:
    """Expected aggregate 1/alpha given each manifold's normalised radius R / center_norm."""
    return float(np.mean([1.0 / theory.ball_capacity(R / c, D, kappa) for c in res.per_manifold.center_norm]))


@pytest.mark.parametrize(
    "R, kappa, seed", [(0.5, 0.0, 1), (1.0, 0.0, 2), (2.0, 0.0, 3), (1.0, 0.5, 4), (1.0, -0.5, 5), (0.3, 1.0, 6)]
)
def test_segments_match_ball_theory(R: float, kappa: float, seed: int) -> None:
    """Segments (M=2) are exactly D=1 balls: capacity, anchor radius and dimension D_M = 1."""
    ms = ball_manifolds(P=20, R=R, D=1, M=2, N=300, seed=seed)
    res = manifold_analysis(ms, kappa=kappa, n_t=2000, seed=seed)
    assert res.K == 0
    np.testing.assert_allclose(res.per_manifold.center_norm, 1.0, atol=1e-12)
    z = _inverse_capacity_check(res, 1.0 / theory.ball_capacity(R, 1, kappa))
    assert abs(z) < Z, f"capacity {res.capacity:.4f} vs theory {theory.ball_capacity(R, 1, kappa):.4f} (z={z:.2f})"
    # the true-rank frame: a segment is one-dimensional (the reference's QR frame gave ~0.81)
    assert res.dimension == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(res.per_manifold.rank, 1)
    # anchor radius: per-sample |s_perp|^2 lies in [0, R^2], so SE(R_M) <= R / (2 sqrt(P n_t))
    se_r = R / (2 * math.sqrt(20 * 2000))
    assert res.radius == pytest.approx(theory.ball_anchor_radius(R, 1, kappa), abs=Z * se_r)


@pytest.mark.parametrize("R, seed", [(0.5, 11), (2.0, 12)])
def test_circles_match_ball_theory(R: float, seed: int) -> None:
    """Circles sampled by M=200 equally spaced points: an inscribed 200-gon, whose support function
    is within 1 - cos(pi/200) = 1.2e-4 of the circle's, so the polygon bias is far below the error."""
    ms = ball_manifolds(P=12, R=R, D=2, M=200, seed=seed)
    res = manifold_analysis(ms, n_t=1000, seed=seed)
    z = _inverse_capacity_check(res, _ball_expectation(res, R, 2, 0.0))
    assert abs(z) < Z
    assert res.dimension == pytest.approx(2.0, abs=2e-3)
    assert res.radius == pytest.approx(theory.ball_anchor_radius(R, 2), rel=0.01)


def test_sphere_d3_matches_ball_theory() -> None:
    """A 3-D sphere sampled by a 400-point antipodal Fibonacci lattice. The inscribed polytope is
    biased towards higher capacity (smaller effective radius, ~0.3% in R_M here), well inside 4 SE."""
    ms = ball_manifolds(P=12, R=1.0, D=3, M=400, seed=21)
    res = manifold_analysis(ms, n_t=1000, seed=21)
    z = _inverse_capacity_check(res, _ball_expectation(res, 1.0, 3, 0.0))
    assert abs(z) < Z
    assert res.dimension == pytest.approx(3.0, abs=0.03)


@pytest.mark.parametrize("kappa", [0.0, 1.0, -0.5])
def test_point_manifolds_give_gardner(kappa: float) -> None:
    rng = np.random.default_rng(0)
    ms = [np.repeat(rng.standard_normal((1, 40)), 6, axis=0) for _ in range(8)]
    res = manifold_analysis(ms, kappa=kappa)
    assert res.capacity == pytest.approx(theory.alpha0(kappa), rel=1e-12)
    assert res.radius == 0.0 and res.dimension == 0.0
    np.testing.assert_array_equal(res.per_manifold.rank, 0)


@pytest.mark.parametrize("R, seed", [(1e-4, 21), (1.0, 22), (2.0, 23)])
def test_very_negative_margins_match_theory(R: float, seed: int) -> None:
    """At kappa = -5 almost no Gaussian field reaches a manifold (P ~ 3e-7 for points): the plain mean of F was
    0 and the capacity inf. Importance-sampled, it is finite and agrees with Gardner (R ~ 0) and ball theory."""
    ms = ball_manifolds(P=20, R=R, D=1, M=2, N=300, seed=seed)
    res = manifold_analysis(ms, kappa=-5.0, n_t=1000, seed=seed)
    assert math.isfinite(res.capacity) and math.isfinite(res.capacity_se) and res.capacity > 0
    z = _inverse_capacity_check(res, _ball_expectation(res, R, 1, -5.0))
    assert abs(z) < Z, f"capacity {res.capacity:.4g} vs theory {1 / _ball_expectation(res, R, 1, -5.0):.4g}"
    assert res.dimension == pytest.approx(1.0, abs=1e-3)  # the geometry comes from the plain samples


def test_margins_beyond_float64_capacities_are_refused() -> None:
    ms = ball_manifolds(P=4, R=1.0, D=1, M=2, N=20, seed=1)
    with pytest.raises(ValueError, match=r"kappa=-38.0 is too small; it must be >= -37.0 \(the margin must be in"):
        manifold_analysis(ms, kappa=-38.0)
    point = [np.repeat(np.random.default_rng(i).standard_normal((1, 20)), 3, axis=0) for i in range(4)]
    assert manifold_analysis(point, kappa=-37.0).capacity == pytest.approx(theory.alpha0(-37.0), rel=1e-12)


def test_near_point_manifolds_sampled_path_gives_gardner() -> None:
    """Tiny (R = 1e-4) but genuinely full-rank manifolds go through the sampled solver and land on 2."""
    ms = gaussian_manifolds(P=10, M=5, D=4, N=100, radius=1e-4, seed=3)
    res = manifold_analysis(ms, n_t=2000, seed=3)
    assert np.all(res.per_manifold.rank == 4)
    z = _inverse_capacity_check(res, 0.5)
    assert abs(z) < Z


def test_float32_noise_is_treated_as_a_point() -> None:
    base = np.random.default_rng(1).standard_normal((8, 30))
    ms = [np.repeat(b[None], 5, axis=0).astype(np.float32) for b in base]
    for m in ms:
        m[1:] += np.float32(1e-7) * m[1:]  # float32 rounding-level differences
    res = manifold_analysis(ms)
    assert res.capacity == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("kappa", [0.0, 0.4, -0.4])
def test_backends_agree(kappa: float) -> None:
    """Exact NNLS (+ vectorised active set) vs the reference QP solved by cvxpy/Clarabel, same samples."""
    ms = gaussian_manifolds(P=3, M=7, D=5, N=20, radius=0.8, seed=5)
    a = manifold_analysis(ms, kappa=kappa, n_t=40, seed=9, backend="nnls")
    b = manifold_analysis(ms, kappa=kappa, n_t=40, seed=9, backend="cvxpy")
    assert abs(a.capacity - b.capacity) < 1e-6
    np.testing.assert_allclose(a.per_manifold.capacity, b.per_manifold.capacity, rtol=1e-6)
    assert a.radius == pytest.approx(b.radius, abs=1e-5)
    assert a.dimension == pytest.approx(b.dimension, abs=1e-5)


def test_fast_active_set_equals_scipy_nnls() -> None:
    """The vectorised active-set answers are identical to scipy's Lawson-Hanson NNLS sample by sample."""
    from scipy.optimize import nnls

    from advgeom.geometry.cone import solve_cone

    rng = np.random.default_rng(0)
    for M, D, kappa in [(50, 49, 0.0), (30, 6, 0.5), (200, 2, -0.3), (12, 11, 1.0)]:
        Zc = rng.standard_normal((M, D)) * rng.uniform(0.2, 2.0)
        S = np.vstack([Zc.T, np.ones((1, M))])
        T = rng.standard_normal((300, D + 1))
        F, anchors = solve_cone(S, T, kappa)
        x = T.copy()
        x[:, -1] += kappa
        for k in range(T.shape[0]):
            lam, _ = nnls(S, x[k], maxiter=100 * M)
            p = S @ lam
            assert F[k] == pytest.approx(p @ p, abs=1e-10)
            if lam.sum() > 0:
                np.testing.assert_allclose(anchors[k], p / lam.sum(), atol=1e-8)


def test_unequal_sizes_two_manifolds_and_torch_input() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ms = [rng.standard_normal((3, 25)) + 2.0, rng.standard_normal((9, 25)) - 1.0]
    res = manifold_analysis(ms, n_t=50)
    assert res.P == 2 and res.K == 0
    assert np.all(np.isfinite(res.per_manifold.capacity)) and 0 < res.capacity < 10
    np.testing.assert_array_equal(res.per_manifold.rank, [2, 8])
    res_t = manifold_analysis([torch.from_numpy(m).float() for m in ms], n_t=50)
    assert res_t.capacity == pytest.approx(res.capacity, rel=1e-5)


def test_stacked_array_input_equals_list_input() -> None:
    X = np.stack(gaussian_manifolds(P=4, M=5, D=3, N=20, seed=6))
    assert manifold_analysis(X, n_t=30).to_dict() == manifold_analysis(list(X), n_t=30).to_dict()


def test_two_segments_match_theory_with_their_center_norms() -> None:
    """P=2 (which the reference code cannot handle): global centering makes the centers +-d/2."""
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 4)))
    c1, c2, u1, u2 = Q.T
    ms = [np.stack([c1 + 0.6 * u1, c1 - 0.6 * u1]), np.stack([c2 + 0.6 * u2, c2 - 0.6 * u2])]
    res = manifold_analysis(ms, n_t=4000, seed=8)
    np.testing.assert_allclose(res.per_manifold.center_norm, math.sqrt(2) / 2, rtol=1e-12)
    z = _inverse_capacity_check(res, _ball_expectation(res, 0.6, 1, 0.0))
    assert abs(z) < Z


def test_center_correlation_removal_finds_planted_subspace() -> None:
    """Centers = shared rank-3 component + independent parts: K = 3 shared directions are found and
    removing them lowers the center correlation; unstructured (simplex) centers give K = 0."""
    rng = np.random.default_rng(0)
    P, N = 40, 400
    shared = np.linalg.qr(rng.standard_normal((N, 3)))[0]
    centers = rng.standard_normal((P, N)) / math.sqrt(N) + 1.5 * rng.standard_normal((P, 3)) @ shared.T / math.sqrt(3)
    ms = [c + 0.1 * rng.standard_normal((4, N)) / math.sqrt(N) for c in centers]
    res = manifold_analysis(ms, n_t=20)
    assert res.K == 3
    assert res.center_correlation > 0.2 and res.residual_correlation < 0.5 * res.center_correlation
    capped = manifold_analysis(ms, n_t=20, max_K=1)
    assert capped.K == 1 and capped.residual_correlation > res.residual_correlation
    kept = manifold_analysis(ms, n_t=20, remove_center_correlation=False)
    assert kept.K == 0 and kept.residual_correlation == kept.center_correlation
    assert kept.center_correlation == pytest.approx(res.center_correlation, rel=1e-12)

    from advgeom.geometry.centers import find_center_subspace

    sub = find_center_subspace(centers, np.random.default_rng(0))
    overlap = np.linalg.svd(shared.T @ sub.basis, compute_uv=False)  # cosines of principal angles
    assert overlap.min() > 0.9

    flat = manifold_analysis(ball_manifolds(P=15, R=0.5, D=1, N=100, seed=0), n_t=20)
    assert flat.K == 0 and flat.center_correlation == pytest.approx(1 / 14, rel=1e-9)


def test_reproducible_and_seed_dependent() -> None:
    ms = gaussian_manifolds(P=6, M=5, D=3, N=40, radius=0.5, seed=2)
    a = manifold_analysis(ms, seed=3)
    b = manifold_analysis(ms, seed=3)
    c = manifold_analysis(ms, seed=4)
    assert a.to_dict() == b.to_dict()
    assert a.capacity != c.capacity


def test_result_to_dict_and_frames() -> None:
    pd = pytest.importorskip("pandas")
    res = manifold_analysis(gaussian_manifolds(P=4, M=5, D=2, N=30, seed=1), n_t=30)
    row = res.to_dict()
    for key in ("capacity", "capacity_se", "radius", "dimension", "center_correlation", "K", "kappa", "n_t", "P"):
        assert key in row
    assert all(isinstance(v, (int, float, str)) for v in row.values())
    frame = pd.DataFrame([row])
    assert frame.shape == (1, len(row))
    per = res.per_manifold.to_frame()
    assert list(per["capacity"]) == list(res.per_manifold.capacity)
    assert res.capacity == pytest.approx(1.0 / np.mean(1.0 / res.per_manifold.capacity))
    assert res.radius == pytest.approx(np.mean(res.per_manifold.radius))


def _ok() -> list[np.ndarray]:
    return [np.random.default_rng(i).standard_normal((4, 10)) for i in range(3)]


@pytest.mark.parametrize(
    "manifolds, kwargs, match",
    [
        (_ok()[:1], {}, "at least 2 manifolds"),
        ([], {}, "at least 2 manifolds"),
        ("abc", {}, "must be a sequence"),
        (np.ones((4, 10)), {}, "got ndarray with ndim=2"),
        ([np.ones((4, 10)), np.ones((1, 10)) * 2], {}, "manifold 1 has 1 point"),
        ([np.ones((4, 10)), np.ones((4, 11))], {}, "N=11 .* N=10"),
        ([np.ones((4, 10)), np.full((4, 10), np.nan)], {}, "manifold 1 contains NaN"),
        ([np.ones((4, 10)), np.full((4, 10), np.inf)], {}, "manifold 1 contains inf"),
        ([np.ones((4, 10)), np.ones((4, 10), dtype=complex)], {}, "complex"),
        ([np.ones((4, 10)), np.ones((4, 10), dtype=bool)], {}, "dtype bool"),
        ([np.ones((4, 10)), np.array([["a"] * 10] * 4)], {}, "manifold 1 has dtype"),
        ([np.ones((4, 10)), np.ones(10)], {}, "must be 2-D .* ndim=1"),
        ([np.ones((4, 10)), np.ones((2, 4, 10))], {}, "ndim=3"),
        (_ok(), {"backend": "cvxopt"}, "backend='cvxopt' is not allowed"),
        (_ok(), {"n_t": 0}, "n_t=0 is too small"),
        (_ok(), {"n_t": 2.5}, "n_t must be an integer"),
        (_ok(), {"kappa": float("nan")}, "kappa=nan must be finite"),
        (_ok(), {"seed": -1}, "seed=-1"),
    ],
)
def test_rejects_bad_input(manifolds, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        manifold_analysis(manifolds, **kwargs)


def test_rejects_manifold_centered_on_the_global_mean() -> None:
    a = np.array([[1.0, 0.0], [-1.0, 0.0]])  # center at the origin
    b = np.array([[0.0, 1.0], [0.0, 3.0]])
    c = np.array([[0.0, -1.0], [0.0, -3.0]])
    with pytest.raises(ValueError, match="manifold 0's center coincides with the global mean"):
        manifold_analysis([a, b, c], remove_center_correlation=False)


def _segments(R: float, n_pairs: int, N: int = 40) -> list[np.ndarray]:
    """2 * n_pairs segments of radius R (in units of their center norm) whose exact MFTMA geometry is known:
    centers +-e_k (the global mean is 0, every center has norm 1), axes orthogonal to every center and to each
    other, two points per segment (a segment is exact with M = 2, DESIGN section 2)."""
    eye = np.eye(N)
    out = []
    for i in range(2 * n_pairs):
        center = eye[i // 2] * (1 if i % 2 == 0 else -1)
        axis = eye[n_pairs + i]
        out.append(np.stack([center + R * axis, center - R * axis]))
    return out


@pytest.mark.parametrize("R", [0.5, 1.0, 2.0])
def test_intervals_cover_the_exact_values_about_95_percent_of_the_time(R: float) -> None:
    """Coverage of the t-sampling intervals on manifolds with a known answer: over 200 independent sets of
    Gaussian samples, the 95% intervals of capacity and radius contain the exact L2-ball values (Chung et al.
    2018; advgeom.geometry.theory) in 95% of the repetitions, within binomial error (sd 1.5%)."""
    manifolds = _segments(R, 5)
    exact_capacity = theory.ball_capacity(R, 1)
    exact_radius = theory.ball_anchor_radius(R, 1)
    hits = {"capacity": 0, "radius": 0}
    reps = 200
    for seed in range(reps):
        res = manifold_analysis(manifolds, n_t=100, seed=seed, remove_center_correlation=False)
        for metric, exact in (("capacity", exact_capacity), ("radius", exact_radius)):
            lo, hi = res.interval(metric)
            hits[metric] += lo <= exact <= hi
    for metric, n in hits.items():
        assert 0.9 <= n / reps <= 0.99, (metric, n / reps)


def test_standard_errors_shrink_like_one_over_root_n() -> None:
    manifolds = _segments(1.0, 5)
    small = manifold_analysis(manifolds, n_t=100, seed=0, remove_center_correlation=False)
    large = manifold_analysis(manifolds, n_t=1600, seed=0, remove_center_correlation=False)
    for metric in ("capacity", "radius"):
        ratio = getattr(small, f"{metric}_se") / getattr(large, f"{metric}_se")
        assert 3.0 < ratio < 5.3, (metric, ratio)  # sqrt(1600 / 100) = 4
    point = manifold_analysis([np.ones((3, 5)) * k for k in (1.0, 2.0, -1.5)], n_t=50, seed=0,
                              remove_center_correlation=False)  # fmt: skip
    assert point.capacity_se == 0.0 and point.radius_se == 0.0 and point.interval("capacity") == (2.0, 2.0)
