"""advgeom.analysis.measurements on small untrained networks: structural facts for any weights, and the cache."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from advgeom.analysis.measurements import (
    manifold_geometry,
    measure,
    measure_grid,
    measure_key,
    measure_path,
    overlap_geometry,
)
from advgeom.analysis.protocol import Protocol
from advgeom.cache import read_entry, write_entry
from advgeom.fingerprint import model_fingerprint
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


def _cut_after(cells: int):
    """The table cut in its last row after ``cells`` cells (an interrupted copy)."""
    def cut(csv: str) -> str:
        start = csv.rstrip("\n").rindex("\n") + 1
        return csv[: start + len(",".join(csv[start:].split(",")[:cells]))]
    return cut


def _other_columns(csv: str) -> str:
    return csv.replace("center_correlation", "centre_correlation", 1)


def _nan_radius(csv: str) -> str:
    header, *rows = csv.splitlines()
    cells = rows[1].split(",")
    cells[header.split(",").index("radius")] = "nan"
    return "\n".join([header, rows[0], ",".join(cells), *rows[2:]]) + "\n"


def _rewritten(change):
    """Store the table, changed by ``change``, again as a *good* entry (checksum and key right): only the checks
    of the table itself can find it."""
    def damage(path, key):
        write_entry(path, key, change(read_entry(path, key).decode()).encode())
    return damage


TABLE_DAMAGES = {
    "cut in the metrics": (_rewritten(_cut_after(4)), "its dimension at layer 'logits' is not a finite number"),
    "cut mid-row": (_rewritten(_cut_after(20)), "its protocol columns do not hold the protocol it was measured with"),
    "cut file": (lambda path, key: path.write_bytes(path.read_bytes()[:-30]), "payload bytes, its header"),
    "edited value": (lambda path, key: path.write_bytes(path.read_bytes().replace(b",0.", b",1.", 1)), "checksum"),
    "other columns": (_rewritten(_other_columns), "missing ['center_correlation'], unexpected ['centre_correlation']"),
    "nan metric": (_rewritten(_nan_radius), "its radius at layer 'logits' is not a finite number"),
    "other layers": (_rewritten(lambda csv: csv.replace("logits", "block1")), "holds the layers ['pixels', 'block1']"),
    "folder": (lambda path, key: (path.unlink(), path.mkdir()), "a folder stands where the file should be"),
}


@pytest.mark.parametrize("damage", list(TABLE_DAMAGES))
def test_a_damaged_measurement_is_set_aside_and_recomputed(images, damage) -> None:
    """A cut, edited or foreign table is never read as good (before: a row cut mid-way read back radius 0, and
    other columns raised KeyError on every run): one warning naming the file and why, the file moved aside."""
    x, y = images
    net = _net("standard")
    protocol = Protocol(n_t=20, width=50, seed=3)
    first = measure(net, x, y, protocol, ["pixels", "logits"])
    key = measure_key(model_fingerprint(net), x, y, protocol, ["pixels", "logits"], "manifolds")
    path = measure_path(key)
    make_damage, reason = TABLE_DAMAGES[damage]
    make_damage(path, key)
    with pytest.warns(UserWarning) as record:
        again = measure(net, x, y, protocol, ["pixels", "logits"])
    [warning] = [str(w.message) for w in record]
    assert warning.startswith(f"cache file {path} is unreadable") and reason in warning, warning
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    assert path.with_name(path.name + ".damaged").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        measure(net, x, y, protocol, ["pixels", "logits"])  # the rebuilt entry is good


def test_a_table_with_non_finite_metrics_is_never_stored(images, monkeypatch) -> None:
    from advgeom.analysis import measurements as module

    x, y = images
    real = module.MEASUREMENTS["manifolds"]
    monkeypatch.setitem(module.MEASUREMENTS, "manifolds", lambda *a: real(*a).assign(capacity=float("inf")))
    with pytest.raises(ValueError, match="its capacity at layer 'pixels' is not a finite number"):
        measure(_net("standard"), x, y, Protocol(n_t=20, width=50, seed=4), ["pixels"])
    with pytest.raises(ValueError, match="its capacity at layer 'pixels' is not a finite number"):
        measure(_net("standard"), x, y, Protocol(n_t=20, width=50, seed=4), ["pixels"], cache=False)


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
    # computed seed by seed, returned model by model, protocol by protocol, seed by seed: each block is measure()'s
    blocks = [(m, p, s) for m in models for p in protocols for s in inputs]
    assert [(m, p.eps, s) for m, p, s in blocks] == list(
        dict.fromkeys(zip(frame.model, frame.eps, frame.seed, strict=True))
    )
    for i, (m, p, s) in enumerate(blocks):
        alone = measure(models[m], *inputs[s], replace(p, seed=s), ["pixels", "logits"])
        block = frame.iloc[2 * i : 2 * i + 2, 1:].reset_index(drop=True)
        pd.testing.assert_frame_equal(block, alone, check_dtype=False)  # eps 0 (int) and 0.05 share a column
    overlap = measure_grid(models, inputs, protocols[1:], kind="overlap", layers=["logits"], progress=False)
    assert list(overlap.model) == ["a", "a", "b", "b"] and "overlap" in overlap
    with pytest.raises(ValueError, match="kind='volume'"):
        measure_grid(models, inputs, protocols, kind="volume")
    steps = measure_grid(models, inputs, protocols[1:], layers=["logits"], deterministic_steps=3, progress=False)
    assert dict(zip(steps.model, steps.attack_steps, strict=True)) == {"a": 3, "b": 1}  # b is stochastic
