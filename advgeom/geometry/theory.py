"""Exact capacities that the manifold analysis is checked against.

* :func:`alpha0` -- Gardner (1988): capacity of random points at margin kappa,
  ``1/alpha0 = int Dt (t + kappa)_+^2 = (1 + kappa^2) Phi(kappa) + kappa phi(kappa)``, computed without
  cancellation for negative kappa (:func:`inverse_alpha0`).

Margins: every function here takes kappa in :data:`KAPPA_RANGE`, ``[-37, 1e150]``: below -37 the
capacity of points (the largest capacity at that margin) exceeds the largest float64 number
(``alpha0(-37) = 1.2e302``, and ``alpha0`` grows like ``exp(kappa^2 / 2)``), above 1e150 ``kappa^2`` does.
* :func:`ball_capacity` -- L2 balls of radius R in D dimensions (Chung, Lee & Sompolinsky,
  PRX 8:031003, 2018, L2-ball example): the field ``t`` splits into ``t0`` along the center and
  ``t_perp`` with ``r = |t_perp| ~ chi_D``; the cone of the ball is a Lorentz cone, so the
  per-sample cost has three regimes (interior 0, touching ``(rR + a)^2/(1+R^2)``, embedded
  ``r^2 + a^2`` with ``a = t0 + kappa``). The Gaussian integral over ``t0`` is done in closed
  form and the chi integral over ``r`` numerically.
* :func:`cover_fraction` -- Cover (1965): fraction of the ``2^P`` dichotomies of P points in
  general position in N dimensions that a hyperplane through the origin separates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from scipy import integrate, special, stats

from advgeom.checks import Interval, Satisfies, validate_params

__all__ = [
    "KAPPA_CONSTRAINT", "KAPPA_RANGE", "alpha0", "ball_anchor_radius", "ball_capacity", "ball_inverse_capacity",
    "check_kappa", "cover_fraction", "inverse_alpha0",
]  # fmt: skip

_SQRT2PI = math.sqrt(2.0 * math.pi)
KAPPA_RANGE = Interval(float, -37.0, 1e150)  # the margins whose capacities are float64 numbers (module docstring)


def check_kappa(kappa: Any) -> float:
    """``kappa`` as a float if it is a margin in :data:`KAPPA_RANGE`, else ValueError giving the range and why."""
    try:
        return KAPPA_RANGE.convert("kappa", kappa)
    except ValueError as err:
        raise ValueError(
            f"{err} (the margin must be in [-37, 1e150]: beyond, capacities overflow float64; alpha0(-37) = 1.2e302)"
        ) from None


KAPPA_CONSTRAINT = Satisfies(check_kappa, 0.0, (-38.0, 2e150, math.nan, math.inf, "0"), "a margin in [-37, 1e150]")


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT2PI if math.isfinite(x) else 0.0


def _gauss_mass(lo: float, hi: float) -> float:
    """P(lo < t < hi) for a standard normal t, accurate in both tails."""
    if lo >= 0:
        return float(special.ndtr(-lo) - special.ndtr(-hi))
    return float(special.ndtr(hi) - special.ndtr(lo))


def _square_moment(c: float, lo: float, hi: float) -> float:
    """Closed form of ``int_lo^hi (t + c)^2 phi(t) dt`` (lo may be -inf, hi may be +inf)."""
    mass = _gauss_mass(lo, hi)
    lo_term = lo * _phi(lo) if math.isfinite(lo) else 0.0
    hi_term = hi * _phi(hi) if math.isfinite(hi) else 0.0
    return mass * (1.0 + c * c) + lo_term - hi_term + 2.0 * c * (_phi(lo) - _phi(hi))


def _tail_square_integral(a: float) -> float:
    """``J(a) = int_0^inf u^2 exp(-a u - u^2 / 2) du`` for ``a >= 0`` (``= 2 / a^3`` asymptotically), by quadrature:
    the closed form ``(1 + a^2) sqrt(pi/2) erfcx(a / sqrt 2) - a`` loses ``4 log10(a)`` digits to cancellation."""
    value, _ = integrate.quad(lambda u: u * u * math.exp(-a * u - 0.5 * u * u), 0.0, math.inf, epsabs=0.0,
                              epsrel=1e-13, limit=200)  # fmt: skip
    return value


@validate_params({"kappa": KAPPA_CONSTRAINT})
def inverse_alpha0(kappa: float = 0.0) -> float:
    """``1/alpha0(kappa) = E[(t + kappa)_+^2]`` for a standard normal t, accurate for every margin in range.

    For ``kappa >= 0``, ``(1+k^2) Phi(k) + k phi(k)`` (a sum of positive terms). For ``kappa = -a < 0`` that
    form is a difference of nearly equal numbers (it returned -inf at -38 and divided by zero at -40);
    instead ``E[(t - a)_+^2] = phi(a) J(a)`` (:func:`_tail_square_integral`), combined in log space.
    """
    if kappa >= 0:
        return (1.0 + kappa * kappa) * float(special.ndtr(kappa)) + kappa * _phi(kappa)
    a = -kappa
    return math.exp(-0.5 * a * a - math.log(_SQRT2PI) + math.log(_tail_square_integral(a)))


@validate_params({"kappa": KAPPA_CONSTRAINT})
def alpha0(kappa: float = 0.0) -> float:
    """Gardner capacity of points at margin ``kappa``: ``1 / ((1+k^2) Phi(k) + k phi(k))`` (:func:`inverse_alpha0`),
    finite and positive for every ``kappa`` in [-37, 1e150] (:data:`KAPPA_RANGE`); other margins are refused."""
    return 1.0 / inverse_alpha0(kappa)


def _ball_cost_given_r(r: float, radius: float, kappa: float) -> float:
    """``E_{t0}[F | r]`` for a ball of radius ``radius`` (0 < radius < inf)."""
    lo = -radius * r - kappa  # below: t lies in the polar cone, F = 0
    hi = r / radius - kappa  # above: t + kappa e_c lies inside the cone, F = |t|^2
    touching = _square_moment(kappa + r * radius, lo, hi) / (1.0 + radius * radius)
    embedded = r * r * _gauss_mass(hi, math.inf) + _square_moment(kappa, hi, math.inf)
    return touching + embedded


_BALL = {"R": Interval(float, 0.0, None, finite=False), "D": Interval(float, 0.0, None), "kappa": KAPPA_CONSTRAINT}


@validate_params(_BALL)
def ball_inverse_capacity(R: float, D: float, kappa: float = 0.0) -> float:
    """``1/alpha_Ball(R, D, kappa)`` (see :func:`ball_capacity`)."""
    point = inverse_alpha0(kappa)
    if R == 0.0 or D == 0.0:
        return point
    if math.isinf(R):
        return D + point
    return _chi_expectation(D, lambda r: _ball_cost_given_r(r, R, kappa))


@validate_params(_BALL)
def ball_capacity(R: float, D: float, kappa: float = 0.0) -> float:
    """Capacity of L2 balls of radius ``R`` (inf allowed) in ``D`` dimensions at margin ``kappa``.

    Chung, Lee & Sompolinsky 2018 (L2 balls). Identities: ``R=1, kappa=0`` gives
    ``2/(D+1)``; ``R -> inf`` gives ``1/(D + 1/alpha0(kappa))``; ``R=0`` gives ``alpha0(kappa)``.
    """
    return 1.0 / ball_inverse_capacity(R, D, kappa)


def _chi_expectation(D: float, g: Callable[[float], float]) -> float:
    """``E[g(r)]`` for ``r ~ chi_D`` by adaptive quadrature over the bulk of the density."""
    chi = stats.chi(D)
    lo, hi = float(chi.ppf(1e-14)), float(chi.isf(1e-14))
    mode = math.sqrt(max(D - 1.0, 0.0))
    value, _ = integrate.quad(
        lambda r: chi.pdf(r) * g(r),
        lo,
        hi,
        points=[mode] if lo < mode < hi else None,
        epsabs=0.0,
        epsrel=1e-10,
        limit=400,
    )
    return float(value)


@validate_params({"R": Interval(float, 0.0, None), "D": Interval(float, 0.0, None), "kappa": KAPPA_CONSTRAINT})
def ball_anchor_radius(R: float, D: float, kappa: float = 0.0) -> float:
    """Anchor radius ``R_M = sqrt(E |s~_perp|^2)`` of an L2 ball (the MFTMA radius of a ball).

    With the anchor conventions of the manifold analysis (Chung et al. 2018; reference
    code): in the interior and touching regimes the anchor is the ball point ``R t_perp/|t_perp|``
    (norm R); in the embedded regime (``a = t0 + kappa > r/R``) it is ``t/a``, of norm ``r/a``. Hence
    ``R_M^2 = R^2 P(a <= r/R) + E[r^2/a^2; a > r/R]`` (the inner integral done numerically). The anchor
    dimension of a ball is exactly D (the anchor is always along ``t_perp``).
    """
    if R == 0.0 or D == 0.0:
        return 0.0

    def given_r(r: float) -> float:
        h = r / R - kappa  # embedded for t0 > h
        tail, _ = integrate.quad(lambda u: _phi(u) / (u + kappa) ** 2, h, math.inf, epsabs=0.0, epsrel=1e-10)
        return R * R * (1.0 - _gauss_mass(h, math.inf)) + r * r * tail

    return math.sqrt(_chi_expectation(D, given_r))


@validate_params({"P": Interval(int, 1, None), "N": Interval(int, 1, None)})
def cover_fraction(P: int, N: int) -> float:
    """Cover's fraction of separable dichotomies: ``2^(1-P) sum_{k<N} C(P-1, k)``.

    Exact rational arithmetic up to P = 20000, then the equal binomial CDF.
    ``cover_fraction(2N, N) == 0.5`` exactly.
    """
    if N >= P:
        return 1.0
    if P <= 20000:
        total = sum(math.comb(P - 1, k) for k in range(N))
        return float(Fraction(total, 2 ** (P - 1)))
    return float(stats.binom.cdf(N - 1, P - 1, 0.5))
