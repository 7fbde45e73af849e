"""Exact capacities that the manifold analysis is checked against.

* :func:`alpha0` -- Gardner (1988): capacity of random points at margin kappa,
  ``1/alpha0 = int Dt (t + kappa)_+^2 = (1 + kappa^2) Phi(kappa) + kappa phi(kappa)``.
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

from scipy import integrate, special, stats

from advgeom.checks import Interval, validate_params

__all__ = ["alpha0", "ball_anchor_radius", "ball_capacity", "ball_inverse_capacity", "cover_fraction"]

_SQRT2PI = math.sqrt(2.0 * math.pi)


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


@validate_params({"kappa": Interval(float)})
def alpha0(kappa: float = 0.0) -> float:
    """Gardner capacity of points at margin ``kappa``: ``1 / ((1+k^2) Phi(k) + k phi(k))``."""
    return 1.0 / _square_moment(kappa, -kappa, math.inf)


def _ball_cost_given_r(r: float, radius: float, kappa: float) -> float:
    """``E_{t0}[F | r]`` for a ball of radius ``radius`` (0 < radius < inf)."""
    lo = -radius * r - kappa  # below: t lies in the polar cone, F = 0
    hi = r / radius - kappa  # above: t + kappa e_c lies inside the cone, F = |t|^2
    touching = _square_moment(kappa + r * radius, lo, hi) / (1.0 + radius * radius)
    embedded = r * r * _gauss_mass(hi, math.inf) + _square_moment(kappa, hi, math.inf)
    return touching + embedded


_BALL = {"R": Interval(float, 0.0, None, finite=False), "D": Interval(float, 0.0, None), "kappa": Interval(float)}


@validate_params(_BALL)
def ball_inverse_capacity(R: float, D: float, kappa: float = 0.0) -> float:
    """``1/alpha_Ball(R, D, kappa)`` (see :func:`ball_capacity`)."""
    point = 1.0 / alpha0(kappa)
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


@validate_params({"R": Interval(float, 0.0, None), "D": Interval(float, 0.0, None), "kappa": Interval(float)})
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
