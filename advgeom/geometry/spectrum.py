"""Linear dimension of a point cloud from its covariance spectrum: participation ratio and EVD90.

The companion code of Dapello, Feather et al. (NeurIPS 2021; chung-neuroai-lab/adversarial-manifolds,
via ``alldata_dimension_analysis`` of schung039/neural_manifolds_replicaMFT) reports, next to the
MFTMA measures, two dimensions of all of a layer's points:

* the **participation ratio** ``PR = (sum_i l_i)^2 / sum_i l_i^2`` of the eigenvalues ``l_i`` of the
  covariance (Gao, Trautmann, Yu et al. 2017): ``D`` for an isotropic cloud in ``D`` dimensions, 1 when
  one direction dominates;
* **EVD90**, the number of principal components that explain 90% of the variance.

Both are computed here on the points centred by their mean, from the singular values of the centred
data (as the reference does). Two deliberate differences from the reference, for exactness: the
reference drops the smallest singular value before the participation ratio (right when there are
fewer points than features, where centring removes one direction, but it drops a real direction
otherwise; here only numerically zero values are dropped, which changes nothing), and it counts the
components whose cumulative fraction stays *at or below* 90% after a PCA of the transposed data; here
EVD90 is the smallest ``k`` whose first ``k`` components reach 90% of the variance (so ``k`` directions
of equal variance give ``ceil(0.9 k)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from advgeom.geometry.inputs import as_manifolds

__all__ = ["Spectrum", "covariance_spectrum", "evd", "participation_ratio", "spectrum_of_manifolds"]


def covariance_spectrum(points: Any) -> np.ndarray:
    """Eigenvalues (descending, numerically zero ones dropped) of the covariance of ``points`` (n, N), rows = points.

    From the singular values of the mean-centred data: ``l_i = s_i^2 / (n - 1)``.
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"points must be a 2-D array of at least 2 rows (points x features), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("points contain NaN or inf values; all values must be finite")
    centred = x - x.mean(axis=0, keepdims=True)
    s = np.linalg.svd(centred, compute_uv=False)
    tol = (s[0] if s.size else 0.0) * max(centred.shape) * np.finfo(np.float64).eps
    s = s[s > tol]
    return s**2 / (x.shape[0] - 1)


def participation_ratio(points: Any) -> float:
    """``(sum l)^2 / sum l^2`` of the covariance eigenvalues of ``points`` (0 for a cloud with no spread)."""
    lam = covariance_spectrum(points)
    return float(lam.sum() ** 2 / np.sum(lam**2)) if lam.size else 0.0


def evd(points: Any, fraction: float = 0.9) -> int:
    """The smallest number of principal components explaining at least ``fraction`` of the variance.

    ``evd(points)`` is EVD90. A fraction reached up to rounding (1e-9 relative) counts as reached.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r} must be in (0, 1]")
    lam = covariance_spectrum(points)
    if not lam.size:
        return 0
    cumulative = np.cumsum(lam) / lam.sum()
    return int(np.searchsorted(cumulative, fraction * (1.0 - 1e-9)) + 1)


@dataclass(frozen=True)
class Spectrum:
    """Participation ratio and EVD90 of all the points of a set of manifolds (``PR``, ``EVD90``, as in the
    reference CSVs) and of each manifold on its own (``manifold_PR``, ``manifold_EVD90``, arrays of length P)."""

    PR: float
    EVD90: int
    manifold_PR: np.ndarray
    manifold_EVD90: np.ndarray


def spectrum_of_manifolds(manifolds: Sequence[Any], fraction: float = 0.9) -> Spectrum:
    """:func:`participation_ratio` and :func:`evd` of all the points of ``manifolds`` together and of each one."""
    mats = as_manifolds(manifolds, min_points=2)
    every = np.concatenate(mats)
    return Spectrum(
        PR=participation_ratio(every),
        EVD90=evd(every, fraction),
        manifold_PR=np.array([participation_ratio(m) for m in mats]),
        manifold_EVD90=np.array([evd(m, fraction) for m in mats]),
    )
