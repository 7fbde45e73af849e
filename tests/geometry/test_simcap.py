"""simulated_capacity: Cover's theorem for points, agreement with MFTMA for random manifolds."""

from __future__ import annotations

import numpy as np
import pytest

from advgeom.geometry import manifold_analysis, simulated_capacity, theory
from advgeom.geometry.simcap import crossing
from advgeom.geometry.synthetic import gaussian_manifolds


def test_crossing_interpolates_the_half_point() -> None:
    # fraction(9) = 0.4, fraction(10) = 0.6 -> crossing at 9.5
    n_min = np.array([5, 7, 9, 9, 10, 10, 12, 13, 14, np.inf], dtype=float)
    assert crossing(n_min) == pytest.approx(9.5)
    assert crossing(np.array([3.0, 3.0, 4.0, 4.0])) == pytest.approx(3.0)  # fraction(3) = 0.5 exactly
    assert crossing(np.array([2.0, np.inf, np.inf])) == np.inf


def test_random_points_give_cover_capacity_two() -> None:
    """P=40 Gaussian points: the separable fraction is Cover's f(40, n) and alpha_sim = 2 within its error bar."""
    rng = np.random.default_rng(0)
    points = [rng.standard_normal((1, 120)) for _ in range(40)]
    sim = simulated_capacity(points, n_dichotomies=300, seed=1, center=False)
    assert abs(sim.capacity - 2.0) < 3.5 * sim.capacity_se, (sim.capacity, sim.capacity_se)
    assert 0.01 < sim.capacity_se < 0.1
    # the whole curve, not only its midpoint: binomial sampling error of a fraction is <= 0.5/sqrt(300)
    for n in (16, 18, 20, 22, 24):
        assert float(sim.fraction(n)[0]) == pytest.approx(theory.cover_fraction(40, n), abs=3.5 * 0.5 / np.sqrt(300))


def test_nnls_and_lp_separability_tests_agree() -> None:
    ms = gaussian_manifolds(P=12, M=3, D=2, N=40, radius=0.5, seed=4)
    a = simulated_capacity(ms, n_dichotomies=20, seed=2, method="nnls", n_bootstrap=10)
    b = simulated_capacity(ms, n_dichotomies=20, seed=2, method="lp", n_bootstrap=10)
    np.testing.assert_array_equal(a.n_min, b.n_min)


@pytest.mark.parametrize("P, M, D, radius, seed", [(40, 5, 3, 0.6, 0), (48, 4, 2, 1.0, 1)])
def test_gaussian_manifolds_simulated_matches_mftma(P: int, M: int, D: int, radius: float, seed: int) -> None:
    """Random low-dimensional manifolds with random centers in high N: the mean-field capacity and
    the simulated one agree within their combined error bars (3.5 SE)."""
    ms = gaussian_manifolds(P=P, M=M, D=D, N=400, radius=radius, seed=seed)
    mf = manifold_analysis(ms, n_t=500, seed=seed)
    sim = simulated_capacity(ms, n_dichotomies=200, seed=seed)
    se = np.hypot(mf.capacity_se, sim.capacity_se)
    assert mf.capacity < 1.5  # genuinely manifolds, well below the point value 2
    assert abs(mf.capacity - sim.capacity) < 3.5 * se, (mf.capacity, sim.capacity, se)


def test_overlapping_manifolds_are_never_separable() -> None:
    rng = np.random.default_rng(0)
    same = rng.standard_normal((6, 5))
    with pytest.warns(RuntimeWarning, match="fewer than half"):
        sim = simulated_capacity([same, same + 1e-3, same - 1e-3], n_dichotomies=10, seed=0)
    assert np.isnan(sim.capacity)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_dichotomies": 1}, "n_dichotomies=1 is too small"),
        ({"method": "svm"}, "method='svm' is not allowed"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_rejects_bad_arguments(kwargs, match: str) -> None:
    ms = [np.ones((2, 3)), np.zeros((2, 3))]
    with pytest.raises(ValueError, match=match):
        simulated_capacity(ms, **kwargs)


def test_rejects_bad_manifolds() -> None:
    with pytest.raises(ValueError, match="at least 2 manifolds"):
        simulated_capacity([np.ones((3, 4))])
    with pytest.raises(ValueError, match="contains NaN"):
        simulated_capacity([np.ones((3, 4)), np.full((3, 4), np.nan)])
