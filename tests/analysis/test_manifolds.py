"""Manifold assembly and random projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advgeom.analysis import manifolds
from advgeom.analysis.manifolds import projection_matrix, random_projection, split_by_label, split_exemplars


def test_random_projection_preserves_norms_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 5000))
    y = random_projection(torch.as_tensor(x), width=2000, seed=3)
    assert y.shape == (20, 2000)
    ratio = np.linalg.norm(y, axis=1) / np.linalg.norm(x, axis=1)
    # Johnson-Lindenstrauss: squared norm ratio ~ chi2(2000)/2000, std ~ 0.03.
    assert np.all(np.abs(ratio - 1) < 0.1)
    np.testing.assert_array_equal(y, random_projection(x, width=2000, seed=3))
    assert not np.allclose(y, random_projection(x, width=2000, seed=4))


def test_projection_matrix_is_drawn_once_read_only_and_the_seeds_draw(monkeypatch) -> None:
    monkeypatch.setattr(manifolds, "_projections", type(manifolds._projections)())
    first = projection_matrix(300, 20, seed=7)
    np.testing.assert_array_equal(first, np.random.default_rng(7).standard_normal((300, 20)) / np.sqrt(20))
    assert projection_matrix(300, 20, seed=7) is first and not first.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0] = 1.0
    x = np.random.default_rng(0).standard_normal((4, 300))
    np.testing.assert_array_equal(random_projection(x, 20, seed=7), x @ first)


def test_projection_cache_keeps_at_most_its_budget(monkeypatch) -> None:
    monkeypatch.setattr(manifolds, "_projections", type(manifolds._projections)())
    monkeypatch.setattr(manifolds, "PROJECTION_CACHE_BYTES", 2 * 300 * 20 * 8)  # two matrices
    a, b = projection_matrix(300, 20, 1), projection_matrix(300, 20, 2)
    assert projection_matrix(300, 20, 1) is a  # a is now the most recently used
    projection_matrix(300, 20, 3)  # drops b, the least recently used
    assert list(manifolds._projections) == [(300, 20, 1), (300, 20, 3)]
    assert projection_matrix(300, 20, 2) is not b
    np.testing.assert_array_equal(projection_matrix(300, 20, 2), b)
    monkeypatch.setattr(manifolds, "PROJECTION_CACHE_BYTES", 0)
    projection_matrix(300, 20, 4)
    assert len(manifolds._projections) == 0


def test_narrow_layers_are_not_projected() -> None:
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(random_projection(x, width=10), x)


def test_split_by_label_and_exemplars() -> None:
    feats = np.arange(12.0).reshape(6, 2)
    classes = split_by_label(feats, [1, 0, 1, 0, 2, 2])
    assert [len(c) for c in classes] == [2, 2, 2]
    np.testing.assert_array_equal(classes[0], feats[[1, 3]])
    exemplars = split_exemplars(feats, 3)
    np.testing.assert_array_equal(exemplars[1], feats[2:4])
    with pytest.raises(ValueError, match="cannot be split"):
        split_exemplars(feats, 4)
    with pytest.raises(ValueError, match="labels"):
        split_by_label(feats, [0, 1])
