"""Exact theory: Gardner, L2-ball capacity (Chung et al. 2018) and Cover's function, against published values."""

from __future__ import annotations

import math
import re
from itertools import product

import numpy as np
import pytest

from advgeom.geometry import theory
from advgeom.geometry.simcap import _separable_lp, _separable_nnls

# DESIGN.md section 2: alpha0(kappa), Gardner 1988.
GARDNER = {0.0: 2.0, 0.5: 0.961205, 1.0: 0.519572, 2.0: 0.200231, -0.5: 4.770099}

# DESIGN.md section 2: alpha_Ball(kappa=0) for D (rows) x R (columns).
RADII = [0.1, 0.5, 1.0, 2.0, 10.0, math.inf]
BALL_TABLE = {
    1: [1.77478, 1.25760, 1.00000, 0.82999, 0.69611, 0.666667],
    2: [1.65435, 0.94986, 0.666667, 0.51355, 0.41744, 0.4],
    3: [1.57034, 0.77499, 0.5, 0.36905, 0.29734, 0.285714],
    10: [1.26159, 0.36005, 0.181818, 0.12162, 0.09797, 0.095238],
    50: [0.74381, 0.09259, 0.039216, 0.02488, 0.020139, 0.019802],
}


@pytest.mark.parametrize("kappa, expected", sorted(GARDNER.items()))
def test_gardner_values(kappa: float, expected: float) -> None:
    assert theory.alpha0(kappa) == pytest.approx(expected, abs=1e-5)


def test_gardner_matches_direct_integral() -> None:
    # 1/alpha0 = E[(t + kappa)_+^2] by plain quadrature, independent of the closed form.
    from scipy import integrate, stats

    for kappa in (-1.0, 0.3, 1.5):
        val, _ = integrate.quad(lambda t, k=kappa: (t + k) ** 2 * stats.norm.pdf(t), -kappa, np.inf)
        assert theory.alpha0(kappa) == pytest.approx(1.0 / val, rel=1e-9)


@pytest.mark.parametrize("D", sorted(BALL_TABLE))
def test_ball_capacity_table(D: int) -> None:
    got = [theory.ball_capacity(R, D) for R in RADII]
    np.testing.assert_allclose(got, BALL_TABLE[D], atol=2e-5, rtol=0)


@pytest.mark.parametrize("D", [1, 2, 3, 7, 10, 50])
def test_ball_identity_unit_radius(D: int) -> None:
    assert theory.ball_capacity(1.0, D, 0.0) == pytest.approx(2.0 / (D + 1), rel=1e-9)


@pytest.mark.parametrize("D, kappa", list(product([1, 3, 20], [-0.5, 0.0, 0.5, 1.0])))
def test_ball_identity_infinite_and_large_radius(D: int, kappa: float) -> None:
    limit = 1.0 / (D + 1.0 / theory.alpha0(kappa))
    assert theory.ball_capacity(math.inf, D, kappa) == pytest.approx(limit, rel=1e-12)
    assert theory.ball_capacity(1e4, D, kappa) == pytest.approx(limit, rel=1e-3)


def test_ball_point_limit() -> None:
    for kappa in (-0.5, 0.0, 1.0):
        assert theory.ball_capacity(0.0, 5, kappa) == pytest.approx(theory.alpha0(kappa), rel=1e-12)
        assert theory.ball_capacity(1e-6, 5, kappa) == pytest.approx(theory.alpha0(kappa), rel=1e-4)


def test_ball_capacity_with_margin_values() -> None:
    # DESIGN.md: alpha_Ball(kappa, R, D)
    assert theory.ball_capacity(R=1.0, D=2, kappa=1.0) == pytest.approx(0.286454, abs=1e-5)
    assert theory.ball_capacity(R=0.5, D=5, kappa=0.5) == pytest.approx(0.353269, abs=1e-5)
    assert theory.ball_capacity(R=math.inf, D=50, kappa=1.0) == pytest.approx(0.019259, abs=1e-5)


def test_ball_capacity_monotone() -> None:
    caps_R = [theory.ball_capacity(R, 3) for R in (0.2, 0.5, 1.0, 2.0)]
    caps_D = [theory.ball_capacity(0.7, D) for D in (1, 2, 5, 10)]
    caps_k = [theory.ball_capacity(0.7, 3, k) for k in (-0.5, 0.0, 0.5)]
    assert all(np.diff(caps_R) < 0) and all(np.diff(caps_D) < 0) and all(np.diff(caps_k) < 0)


def test_ball_anchor_radius_limits() -> None:
    # Small balls are mostly touched at their boundary (R_M -> R); large ones are more often embedded.
    assert theory.ball_anchor_radius(1e-3, 3) == pytest.approx(1e-3, rel=1e-3)
    assert theory.ball_anchor_radius(2.0, 3) < 2.0
    assert theory.ball_anchor_radius(0.0, 3) == 0.0


@pytest.mark.parametrize("N", [1, 2, 5, 17, 50])
def test_cover_half_at_2n(N: int) -> None:
    assert theory.cover_fraction(2 * N, N) == 0.5


def test_cover_exact_values_and_symmetry() -> None:
    assert theory.cover_fraction(3, 2) == 0.75
    assert theory.cover_fraction(5, 2) == 5 / 16
    assert theory.cover_fraction(10, 10) == 1.0
    assert theory.cover_fraction(4, 7) == 1.0
    for P, N in [(9, 3), (30, 11), (101, 40)]:
        assert theory.cover_fraction(P, N) + theory.cover_fraction(P, P - N) == pytest.approx(1.0, abs=1e-15)
    # the large-P branch (binomial CDF) continues the exact one
    assert theory.cover_fraction(20001, 9000) == pytest.approx(
        float(__import__("scipy").stats.binom.cdf(8999, 20000, 0.5)), rel=1e-12
    )


@pytest.mark.parametrize("P, N", [(6, 3), (7, 4), (8, 3)])
@pytest.mark.parametrize("test", [_separable_nnls, _separable_lp], ids=["nnls", "lp"])
def test_cover_count_by_enumeration(P: int, N: int, test) -> None:
    """Cover's theorem: exactly 2 sum_{k<N} C(P-1, k) of the 2^P dichotomies of P generic points are
    separable through the origin. Counts every dichotomy with the exact separability tests."""
    X = np.random.default_rng(P * 10 + N).standard_normal((P, N))
    count = 0
    for labels in product([-1.0, 1.0], repeat=P):
        count += test(np.asarray(labels)[:, None] * X)
    assert count == round(theory.cover_fraction(P, N) * 2**P)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.alpha0(float("nan")), "kappa"),
        (lambda: theory.ball_capacity(-1.0, 2), "R="),
        (lambda: theory.ball_capacity(float("nan"), 2), "R="),
        (lambda: theory.ball_capacity(1.0, -2), "D="),
        (lambda: theory.ball_capacity(1.0, 2, math.inf), "kappa"),
        (lambda: theory.cover_fraction(0, 3), "P="),
        (lambda: theory.cover_fraction(4, 1.5), "N must be an integer"),
    ],
)
def test_theory_rejects_bad_input(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# 1/alpha0 in 50-digit arithmetic (mpmath): (1 + k^2) Phi(k) + k phi(k)
GARDNER_NEGATIVE = {-1.0: 13.273199837024512, -3.0: 4915.5730545906379, -5.0: 51697499.847051412,
                    -10.0: 6.8826549521445286e24, -20.0: 7.3534120397347274e90, -30.0: 9.2219233853786025e199,
                    -37.0: 1.1998726748735813e302}  # fmt: skip


@pytest.mark.parametrize("kappa, expected", sorted(GARDNER_NEGATIVE.items()))
def test_gardner_is_accurate_for_very_negative_margins(kappa: float, expected: float) -> None:
    """The closed form cancels for kappa << 0 (alpha0(-38) was -inf, kappa <= -40 divided by zero)."""
    assert theory.alpha0(kappa) == pytest.approx(expected, rel=1e-13)
    assert theory.inverse_alpha0(kappa) == pytest.approx(1.0 / expected, rel=1e-13)


def test_gardner_is_finite_positive_and_decreasing_over_its_range() -> None:
    kappas = np.concatenate([np.linspace(-37.0, 5.0, 400), [10.0, 1e3, 1e100, 1e150]])
    values = np.array([theory.alpha0(k) for k in kappas])
    assert np.isfinite(values).all() and (values > 0).all() and (np.diff(values) < 0).all()


@pytest.mark.parametrize("kappa", [-37.5, -38.0, -40.0, -1e6, 2e150])
def test_margins_whose_capacity_is_no_float64_are_refused_with_the_range(kappa: float) -> None:
    for call in (theory.alpha0, theory.inverse_alpha0, lambda k: theory.ball_capacity(1.0, 1.0, k),
                 lambda k: theory.ball_anchor_radius(1.0, 1.0, k)):  # fmt: skip
        with pytest.raises(ValueError, match=re.escape("the margin must be in [-37, 1e150]")):
            call(kappa)


def test_ball_capacity_at_a_very_negative_margin() -> None:
    """Finite, positive, below the points' capacity at that margin and above the unit balls' at kappa = 0."""
    value = theory.ball_capacity(1.0, 1.0, -5.0)
    assert math.isfinite(value) and theory.ball_capacity(1.0, 1.0, 0.0) < value < theory.alpha0(-5.0)
