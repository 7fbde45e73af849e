"""advgeom.geometry.spectrum against exact values on synthetic clouds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advgeom.geometry.spectrum import covariance_spectrum, evd, participation_ratio, spectrum_of_manifolds


def test_isotropic_gaussian_cloud_has_participation_ratio_d() -> None:
    # finite-sample PR of an isotropic cloud: E[PR] ~ D / (1 + (D + 1) / n); n = 40000 puts it within 0.1 of D
    rng = np.random.default_rng(0)
    for dim in (3, 20):
        embed = np.linalg.qr(rng.standard_normal((50, dim)))[0]  # D orthonormal directions in N = 50
        points = rng.standard_normal((40000, dim)) @ embed.T + 5.0
        assert participation_ratio(points) == pytest.approx(dim, abs=0.1)


def test_equal_variance_directions_give_exact_values() -> None:
    # k directions of exactly equal variance (a scaled orthonormal design): PR = k, EVD90 = ceil(0.9 k)
    rng = np.random.default_rng(1)
    for k in (1, 4, 10, 15, 23):
        design = np.vstack([np.eye(k), -np.eye(k)]) * 3.0  # centred, equal variance along each axis
        rotation = np.linalg.qr(rng.standard_normal((40, 40)))[0][:k]
        points = design @ rotation
        assert participation_ratio(points) == pytest.approx(k, rel=1e-9)
        assert evd(points) == math.ceil(0.9 * k - 1e-12)
        assert evd(points, 0.5) == math.ceil(0.5 * k - 1e-12)


def test_one_dominant_direction_and_degenerate_clouds() -> None:
    rng = np.random.default_rng(2)
    line = np.outer(rng.standard_normal(500), rng.standard_normal(30))
    assert participation_ratio(line) == pytest.approx(1.0, rel=1e-9) and evd(line) == 1
    point = np.ones((5, 8))
    assert participation_ratio(point) == 0.0 and evd(point) == 0 and covariance_spectrum(point).size == 0
    lam = covariance_spectrum(rng.standard_normal((6, 100)))
    assert lam.size == 5  # six points span five directions once centred


def test_spectrum_of_manifolds_layer_and_per_manifold() -> None:
    rng = np.random.default_rng(3)
    manifolds = [rng.standard_normal((60, 4)) @ np.eye(4, 12, k=2 * i) + 10 * i for i in range(3)]
    spec = spectrum_of_manifolds(manifolds)
    assert spec.manifold_PR.shape == (3,) and np.all(np.abs(spec.manifold_PR - 4) < 1.0)
    assert np.all(spec.manifold_EVD90 <= 4)
    every = np.concatenate(manifolds)
    assert spec.PR == participation_ratio(every) and spec.EVD90 == evd(every)
    assert spec.PR < 2.0  # the far-apart centres dominate the variance of all the points


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((1, 4)), np.array([[0.0, np.nan], [1.0, 2.0]])])
def test_bad_points_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="points"):
        participation_ratio(bad)
    with pytest.raises(ValueError, match="fraction"):
        evd(np.eye(3), 1.5)
