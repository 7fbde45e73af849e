"""advgeom.analysis.measurements on small untrained networks: structural facts for any weights, and the cache."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from advgeom.analysis.measurements import manifold_geometry, measure, measure_grid, overlap_geometry
from advgeom.analysis.protocol import Protocol
from advgeom.zoo import build_network


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(6, 1, 28, 28, generator=gen), torch.tensor([0, 1, 2, 0, 1, 2])


def _net(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network(name).eval()


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


def test_overlap_deterministic_vs_stochastic(images) -> None:
    x, y = images
    protocol = Protocol(manifold="exemplar", eps=0.03, repeats=4, attack_steps=3, eot=2, n_t=30, width=100)
    det = overlap_geometry(_net("standard"), x[:3], y[:3], protocol)
    sto = overlap_geometry(_net("vone"), x[:3], y[:3], protocol)
    assert set(det.columns) >= {"pair_capacity", "overlap", "layer"} and np.isfinite(sto["pair_capacity"]).all()
    # The deterministic net's clean manifold is a point and its attacks agree on a direction: separated at every
    # layer. From its noise stage on, the stochastic net's clean manifold is a cloud that a small attack stays
    # inside: clean and adversarial overlap far more.
    assert (det["overlap"] == 0.0).all(), det
    later = slice(1, None)
    assert (sto["overlap"].iloc[later].to_numpy() > det["overlap"].iloc[later].to_numpy() + 0.5).all(), (det, sto)
    with pytest.raises(ValueError, match="exemplar"):
        overlap_geometry(_net("standard"), x, y, Protocol(manifold="class"))


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_stochastic_geometry_does_not_depend_on_what_ran_before(images, eps: float) -> None:
    """The noise draws are seeded by the protocol: the global RNG state before the call (training, a cache
    hit or not) changes nothing, the global stream is left where it was, and another seed draws otherwise."""
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


def test_measure_caches_by_content_and_reads_back_exactly(images, monkeypatch) -> None:
    from advgeom.analysis import measurements as module
    from advgeom.models import set_noise

    x, y = images
    net = _net("vone")
    protocol = Protocol(manifold="exemplar", repeats=3, n_t=20, width=50)
    calls = []
    real = dict(module.MEASUREMENTS)
    monkeypatch.setitem(module.MEASUREMENTS, "manifolds", lambda *a: calls.append(1) or real["manifolds"](*a))
    first = measure(net, x, y, protocol, ["pixels", "logits"])
    again = measure(net, x, y, protocol, ["pixels", "logits"])
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, again, check_exact=True)  # fresh and cached results are identical
    fresh = real["manifolds"](net, x, y, protocol, ["pixels", "logits"])
    np.testing.assert_array_equal(fresh["radius"].to_numpy(), first["radius"].to_numpy())
    set_noise(net, scale=0.5)  # the same weights, other noise: another measurement
    measure(net, x, y, protocol, ["pixels", "logits"])
    assert len(calls) == 2
    with torch.no_grad():
        next(net.parameters()).add_(0.01)  # other weights under the same name: another measurement
    measure(net, x, y, protocol, ["pixels", "logits"])
    assert len(calls) == 3
    measure(net, x[:3], y[:3], protocol, ["pixels", "logits"])  # other inputs
    measure(net, x, y, replace(protocol, seed=1), ["pixels", "logits"])  # another protocol
    assert len(calls) == 5


def test_damaged_measurement_is_recomputed_with_a_warning(images) -> None:
    from advgeom.cache import cache_dir

    x, y = images
    net = _net("standard")
    protocol = Protocol(n_t=20, width=50)
    first = measure(net, x, y, protocol, ["pixels", "logits"])
    [path] = [p for p in (cache_dir() / "measure").glob("*.csv") if p.read_text() == first.to_csv(index=False)]
    path.write_text("layer,capacity\npixels,not-a-number\n")
    with pytest.warns(UserWarning, match="unreadable"):
        again = measure(net, x, y, protocol, ["pixels", "logits"])
    assert again["capacity"].tolist() == first["capacity"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        measure(net, x, y, protocol, ["pixels", "logits"])  # the rebuilt entry is good


def test_measure_grid_rows_and_overlap_kind(images) -> None:
    x, y = images
    models = {"a": _net("standard"), "b": _net("vone")}
    inputs = {0: (x[:3], y[:3]), 1: (x[3:], y[3:])}
    protocols = [Protocol(manifold="exemplar", repeats=2, n_t=10, width=40, eps=e, attack_steps=1) for e in (0, 0.05)]
    frame = measure_grid(models, inputs, protocols, layers=["pixels", "logits"], progress=False)
    assert len(frame) == 2 * 2 * 2 * 2 and list(frame.columns[:2]) == ["model", "layer"]
    assert sorted(set(zip(frame.model, frame.seed, frame.eps, strict=True))) == [
        (m, s, e) for m in "ab" for s in (0, 1) for e in (0.0, 0.05)
    ]
    overlap = measure_grid(models, inputs, protocols[1:], kind="overlap", layers=["logits"], progress=False)
    assert list(overlap.model) == ["a", "a", "b", "b"] and "overlap" in overlap
    with pytest.raises(ValueError, match="kind='volume'"):
        measure_grid(models, inputs, protocols, kind="volume")
