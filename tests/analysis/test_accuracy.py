"""advgeom.analysis.accuracy: pooled accuracies with intervals over examples, paired differences, per-example cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from advgeom.analysis import accuracy as module
from advgeom.analysis.accuracy import accuracy_sweep, pgd_scores
from advgeom.zoo import build_network


@pytest.fixture(scope="module")
def data() -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(12, 1, 28, 28, generator=gen), torch.randint(0, 10, (12,), generator=gen)
    return {0: (x[:6], y[:6]), 1: (x[6:], y[6:])}


def net(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network(name).eval()


def test_rows_pooled_accuracy_intervals_and_the_cache(data, monkeypatch) -> None:
    models = {"std": net("standard"), "sto": net("vone")}
    calls = []
    real = module.robust_scores
    monkeypatch.setattr(module, "robust_scores", lambda *a, **k: calls.append(k["eps"]) or real(*a, **k))
    grids = {"linf": [0.0, 0.3], "l2": [0.0]}
    sweep = accuracy_sweep(models, data, grids, steps=2, eot=2, n_draws=2, progress=False)
    table = sweep.table
    assert list(zip(table.model, table.norm, table.eps, strict=True)) == [
        (m, n, e) for m in ("std", "sto") for n, e in (("linf", 0.0), ("linf", 0.3), ("l2", 0.0))
    ]
    x = torch.cat([data[0][0], data[1][0]])
    y = torch.cat([data[0][1], data[1][1]])
    with torch.no_grad():
        clean = float((models["std"](x).argmax(1) == y).double().mean())
    assert table.accuracy.iloc[0] == pytest.approx(clean) and table.n.iloc[0] == 12  # both seeds' examples
    assert (table.lo <= table.accuracy).all() and (table.accuracy <= table.hi).all()
    assert table.accuracy.iloc[1] <= table.accuracy.iloc[0]  # an attack never helps
    per_seed = sweep.per_seed[(sweep.per_seed.model == "std") & (sweep.per_seed.eps == 0)]
    assert np.mean(per_seed.accuracy[per_seed.norm == "linf"]) == pytest.approx(clean)
    # paired difference on the same examples: clean minus attacked, never negative for a deterministic net
    diff = sweep.difference(("std", "linf", 0.0), ("std", "linf", 0.3))
    assert diff.value == pytest.approx(table.accuracy.iloc[0] - table.accuracy.iloc[1]) and diff.value >= 0
    with pytest.raises(ValueError, match="no accuracy"):
        sweep.estimate("std", "linf", 0.1)
    assert len(calls) == 12  # 2 models x 3 (norm, eps) x 2 seeds
    again = accuracy_sweep(models, data, grids, steps=2, eot=2, n_draws=2, progress=False)
    assert len(calls) == 12 and again.table.equals(table)  # every score read back from the cache, exactly
    with torch.no_grad():
        next(models["std"].parameters()).mul_(-1.0)  # other weights: the scores of "std" are recomputed
    accuracy_sweep(models, data, grids, steps=2, eot=2, n_draws=2, progress=False)
    assert len(calls) == 18


def test_pgd_scores_are_per_example_fractions_of_draws(data) -> None:
    x, y = data[0]
    scores = pgd_scores(net("vone"), x, y, eps=0.0, n_draws=4, seed=3)
    assert scores.shape == (6,) and set(np.unique(scores * 4)) <= set(range(5))


def test_deterministic_models_are_attacked_with_their_own_steps(data, monkeypatch) -> None:
    steps = []
    real = module.robust_scores
    monkeypatch.setattr(module, "robust_scores", lambda *a, **k: steps.append(k["steps"]) or real(*a, **k))
    models = {"std": net("standard"), "sto": net("vone")}
    accuracy_sweep(models, {0: data[0]}, {"linf": [0.2]}, steps=2, eot=2, n_draws=2, deterministic_steps=5,
                   progress=False)  # fmt: skip
    assert steps == [5, 2]  # the deterministic net takes 5, the stochastic one 2


def test_deterministic_models_restart_and_one_start_keeps_its_cache_key(data, monkeypatch) -> None:
    """Restarts reach robust_scores for the deterministic net only; one start writes the key it always had (so
    entries written before restarts were a setting stay valid) and more starts a key of their own."""
    calls, keys = [], []
    real, real_cached = module.robust_scores, module.cached_scores
    monkeypatch.setattr(module, "robust_scores", lambda *a, **k: calls.append(k["restarts"]) or real(*a, **k))
    monkeypatch.setattr(module, "cached_scores", lambda k, compute: keys.append(dict(k)) or real_cached(k, compute))
    models = {"std": net("standard"), "sto": net("vone")}
    accuracy_sweep(models, {0: data[0]}, {"linf": [0.17]}, steps=2, eot=2, n_draws=2, deterministic_restarts=3,
                   progress=False)  # fmt: skip (an eps no other test caches)
    assert calls == [3, 1] and keys[0]["restarts"] == 3 and "restarts" not in keys[1]
    x, y = data[0]
    pgd_scores(models["std"], x, y, eps=0.17, steps=2)  # one start (the default)
    assert "restarts" not in keys[-1] and calls[-1] == 1


def test_a_step_schedule_reaches_the_attack_and_constant_steps_keep_their_cache_key(data, monkeypatch) -> None:
    calls, keys = [], []
    real, real_cached = module.robust_scores, module.cached_scores
    monkeypatch.setattr(module, "robust_scores", lambda *a, **k: calls.append(k["schedule"]) or real(*a, **k))
    monkeypatch.setattr(module, "cached_scores", lambda k, compute: keys.append(dict(k)) or real_cached(k, compute))
    x, y = data[0]
    pgd_scores(net("standard"), x, y, eps=0.19, steps=2)  # an eps no other test caches
    pgd_scores(net("standard"), x, y, eps=0.19, steps=2, schedule="linear")
    assert calls == ["constant", "linear"] and "schedule" not in keys[0] and keys[1]["schedule"] == "linear"
    with pytest.raises(ValueError, match="schedule='cosine'"):
        pgd_scores(net("standard"), x, y, eps=0.19, steps=2, schedule="cosine")


def test_unknown_norm_is_refused(data) -> None:
    with pytest.raises(ValueError, match="norm='l3'"):
        accuracy_sweep({"std": net("standard")}, data, {"l3": [0.0]}, progress=False)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (module.encode_scores(np.array([0.5, 1.5])), "fractions in [0, 1]"),
        (module.encode_scores(np.array([np.nan])), "fractions in [0, 1]"),
        (b"not an npy file", "ValueError"),
    ],
)
def test_damaged_scores_are_set_aside_and_recomputed(tmp_path, monkeypatch, payload, reason) -> None:
    from advgeom.cache import cache_path, write_entry

    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path))
    key = {"probe": 1}
    good = np.array([0.25, 1.0])
    assert np.array_equal(module.cached_scores(key, lambda: good), good)
    full_key = {"format": module.SCORES_FORMAT, **key}
    path = cache_path("robust-scores", full_key, ".npy")
    write_entry(path, full_key, payload)  # a well-formed entry holding no scores
    with pytest.warns(UserWarning, match=re.escape(reason)):
        assert np.array_equal(module.cached_scores(key, lambda: good), good)
    assert path.with_name(path.name + ".damaged").exists()
    np.save(path, good)  # a bare .npy file, as the previous format wrote it
    with pytest.warns(UserWarning, match="no advgeom cache header"):
        assert np.array_equal(module.cached_scores(key, lambda: good), good)
