"""Overlap of two point clouds, measured by how well a linear rule tells them apart.

Used for the clean-versus-adversarial exemplar manifolds of Dapello, Feather et al. (NeurIPS 2021):
noise in a stochastic network makes an image's clean and adversarial representations overlap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["centroid_overlap"]


def centroid_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two point clouds: 2 x the leave-one-out error of a nearest-centroid (linear) classifier.

    1 means indistinguishable (chance error 1/2), 0 means every held-out point lies nearer its own
    cloud's centroid. The decision boundary of a nearest-centroid rule is a hyperplane, so this is a
    linear-separability measure that does not overfit when there are more dimensions than points.
    """
    errors = 0
    for own, other in ((a, b), (b, a)):
        total, centroid_other = own.sum(axis=0), other.mean(axis=0)
        for i in range(len(own)):
            centroid_own = (total - own[i]) / (len(own) - 1)
            errors += np.sum((own[i] - centroid_own) ** 2) >= np.sum((own[i] - centroid_other) ** 2)
    return float(min(1.0, 2.0 * errors / (len(a) + len(b))))
