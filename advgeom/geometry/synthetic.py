"""Synthetic manifolds with known geometry, for checks against theory and for benchmarks.

:func:`ball_manifolds` builds manifolds that are *exactly* L2 spheres of radius R in D dimensions
in the representation of the manifold analysis: the P centers form a regular simplex (mean 0,
norm 1, so global centering changes nothing) and every manifold's axes are orthonormal and
orthogonal to all centers and to each other. Their capacity is then ``theory.ball_capacity(R, D)``
up to the finite point sampling of the sphere (exact for segments, D = 1).
"""

from __future__ import annotations

import math

import numpy as np

from advgeom.checks import Interval, check_int, validate_params

__all__ = ["ball_manifolds", "gaussian_manifolds", "sphere_points"]


@validate_params({"D": Interval(int, 1, None), "M": Interval(int, 2, None)})
def sphere_points(D: int, M: int, rng: np.random.Generator) -> np.ndarray:
    """M points on the unit sphere in D dimensions, in antipodal pairs (so their mean is exactly 0).

    D = 1: the two ends of a segment (M must be 2). D = 2: M equally spaced angles. D = 3:
    a Fibonacci lattice of M/2 points and their negatives. D > 3: random directions and negatives.
    """
    if D == 1:
        if M != 2:
            raise ValueError(f"M={M}: a segment (D=1) has exactly M=2 end points")
        return np.array([[1.0], [-1.0]])
    if M % 2:
        raise ValueError(f"M={M} must be even (antipodal pairs)")
    half = M // 2
    if D == 2:
        angle = math.pi * np.arange(half) / half
        pts = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    elif D == 3:
        k = np.arange(half) + 0.5
        z = 1.0 - 2.0 * k / half
        phi = k * math.pi * (3.0 - math.sqrt(5.0))
        rho = np.sqrt(1.0 - z * z)
        pts = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
    else:
        pts = rng.standard_normal((half, D))
        pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    return np.concatenate([pts, -pts])


@validate_params({"P": Interval(int, 2, None), "R": Interval(float, 0.0, None), "D": Interval(int, 1, None)})
def ball_manifolds(P: int, R: float, D: int, M: int = 2, N: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """P spheres of radius R (relative to a unit center norm) in D dimensions, M points each.

    Centers: a regular simplex; axes: orthonormal, orthogonal to all centers and to the other
    manifolds' axes, in a random orientation in ``N >= P (D + 1)`` dimensions (default the minimum).
    """
    N = P * (D + 1) if N is None else check_int("N", N, minimum=P * (D + 1))
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((N, P * (D + 1))))
    E = Q[:, :P].T
    centers = math.sqrt(P / (P - 1.0)) * (E - E.mean(axis=0))
    out = []
    for i in range(P):
        axes = Q[:, P + i * D : P + (i + 1) * D].T  # (D, N)
        out.append(centers[i] + R * sphere_points(D, M, rng) @ axes)
    return out


def gaussian_manifolds(
    P: int, M: int, D: int, N: int, radius: float = 0.3, seed: int = 0, dtype: type = np.float64
) -> list[np.ndarray]:
    """P Gaussian point clouds: centers ``N(0, I/N)`` (norm ~1); M points ``c + radius * G A``, G ~ N(0, I_D/D)
    and A a random orthonormal D-frame (so the cloud's RMS radius is ~``radius``)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(P):
        c = rng.standard_normal(N) / math.sqrt(N)
        A, _ = np.linalg.qr(rng.standard_normal((N, D)))
        out.append((c + radius * rng.standard_normal((M, D)) @ A.T / math.sqrt(D)).astype(dtype))
    return out
