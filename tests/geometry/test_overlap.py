"""advgeom.geometry.overlap: the nearest-centroid overlap of two point clouds at its limits."""

from __future__ import annotations

import numpy as np

from advgeom.geometry import centroid_overlap


def test_centroid_overlap_limits() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 50))
    assert centroid_overlap(a, a + 10.0) == 0.0
    same = centroid_overlap(a[:10], a[10:])
    assert 0.5 < same <= 1.0  # two halves of one cloud: near chance


def test_centroid_overlap_is_symmetric_and_counts_held_out_errors() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 5)), rng.standard_normal((8, 5)) + 0.7
    assert centroid_overlap(a, b) == centroid_overlap(b, a)
    # a point of b planted at a's centroid is misclassified when held out: overlap at least 2 * 1 / 16
    b_planted = b.copy()
    b_planted[0] = a.mean(axis=0)
    assert centroid_overlap(a, b_planted) >= 2 / 16
