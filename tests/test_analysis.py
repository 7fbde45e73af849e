"""The geometry protocol on small untrained networks: structural facts that hold for any weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advgeom.analysis import Protocol, centroid_overlap, manifold_geometry, overlap_geometry, random_perturbation
from advgeom.models import build_model


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(6, 1, 28, 28, generator=gen), torch.tensor([0, 1, 2, 0, 1, 2])


def _net(variant: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(variant).eval()


def test_deterministic_clean_exemplars_are_points(images) -> None:
    x, y = images
    frame = manifold_geometry(_net("standard"), x, y, Protocol(manifold="exemplar", repeats=3, n_t=50, width=200))
    # M identical points per exemplar: zero radius and the point-manifold capacity 2 at every layer.
    assert (frame["radius"] < 1e-6).all()
    assert frame["capacity"].sub(2.0).abs().max() < 0.05


def test_stochastic_clean_exemplars_have_extent_from_the_noise_stage(images) -> None:
    x, y = images
    net = _net("vone")
    frame = manifold_geometry(net, x, y, Protocol(manifold="exemplar", repeats=4, n_t=50, width=200))
    assert frame.iloc[0]["layer"] == "pixels" and frame.iloc[0]["radius"] < 1e-6
    later = frame.iloc[2:]
    assert (later["radius"] > 0.01).all(), frame[["layer", "radius"]]
    assert (later["capacity"] < 1.99).all(), frame[["layer", "capacity"]]


def test_class_manifolds_rows_and_protocol_columns(images) -> None:
    x, y = images
    net = _net("standard")
    protocol = Protocol(manifold="class", norm="l2", eps=0.5, attack_steps=2, n_t=30, width=100, seed=1)
    frame = manifold_geometry(net, x, y, protocol)
    assert list(frame["layer"])[0] == "pixels" and len(frame) > 3
    assert set(frame["eps"]) == {0.5} and set(frame["norm"]) == {"l2"}
    assert frame["capacity"].gt(0).all() and frame["dimension"].gt(0).all()


@pytest.mark.parametrize("norm, p", [("linf", float("inf")), ("l2", 2), ("l1", 1)])
def test_random_perturbation_has_the_requested_norm(norm: str, p: float) -> None:
    x = torch.full((4, 1, 8, 8), 0.5)
    delta = random_perturbation(x, norm, 0.1, seed=0) - x
    torch.testing.assert_close(delta.flatten(1).norm(p=p, dim=1), torch.full((4,), 0.1), rtol=1e-4, atol=1e-6)


def test_protocol_validation() -> None:
    with pytest.raises(ValueError, match="manifold='points'"):
        Protocol(manifold="points")
    with pytest.raises(ValueError, match="repeats >= 2"):
        Protocol(manifold="exemplar", repeats=1)
    with pytest.raises(ValueError, match="norm="):
        Protocol(norm="l3")


def test_centroid_overlap_limits() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 50))
    assert centroid_overlap(a, a + 10.0) == 0.0
    same = centroid_overlap(a[:10], a[10:])
    assert 0.5 < same <= 1.0  # two halves of one cloud: near chance


def test_overlap_deterministic_vs_stochastic(images) -> None:
    x, y = images
    protocol = Protocol(manifold="exemplar", eps=0.1, repeats=4, attack_steps=3, eot=2, n_t=30, width=100)
    det = overlap_geometry(_net("standard"), x[:3], y[:3], protocol)
    sto = overlap_geometry(_net("vone"), x[:3], y[:3], protocol)
    # At the pixels the clean manifold is a point and the attacks spread around it.
    assert det.iloc[0]["overlap"] == 0.0
    assert set(det.columns) >= {"pair_capacity", "overlap", "layer"}
    assert sto["overlap"].iloc[-1] >= 0.0 and np.isfinite(sto["pair_capacity"]).all()
    with pytest.raises(ValueError, match="exemplar"):
        overlap_geometry(_net("standard"), x, y, Protocol(manifold="class"))


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_stochastic_geometry_does_not_depend_on_what_ran_before(images, eps: float) -> None:
    """The noise draws are seeded by the protocol: the global RNG state before the call (training, a cache
    hit or not) changes nothing, the global stream is left where it was, and another seed draws otherwise."""
    from dataclasses import replace

    x, y = images[0][:3], images[1][:3]
    net = _net("vone")
    protocol = Protocol(manifold="exemplar", eps=eps, repeats=4, attack_steps=2, eot=2, n_t=30, width=100)
    torch.manual_seed(123)
    first = manifold_geometry(net, x, y, protocol)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)  # the call drew nothing from the global stream
    torch.randn(1000)  # another history
    again = manifold_geometry(net, x, y, protocol)
    assert np.array_equal(first["radius"].to_numpy(), again["radius"].to_numpy())
    other = manifold_geometry(net, x, y, replace(protocol, seed=1))
    assert not np.array_equal(first["radius"].to_numpy()[2:], other["radius"].to_numpy()[2:])
    overlap_first = overlap_geometry(net, x, y, replace(protocol, eps=0.1))
    torch.randn(7)  # another history
    overlap_again = overlap_geometry(net, x, y, replace(protocol, eps=0.1))
    assert np.array_equal(overlap_first["pair_capacity"].to_numpy(), overlap_again["pair_capacity"].to_numpy())
