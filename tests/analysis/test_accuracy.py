"""advgeom.analysis.accuracy: one row per (model, norm, eps), attacks that lower accuracy, cached by content."""

from __future__ import annotations

import re

import pytest
import torch

from advgeom.analysis import accuracy as module
from advgeom.analysis.accuracy import accuracy_sweep
from advgeom.zoo import build_network


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(8, 1, 28, 28, generator=gen), torch.randint(0, 10, (8,), generator=gen)


def net(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network(name).eval()


def test_rows_clean_accuracy_and_the_cache(data, monkeypatch) -> None:
    x, y = data
    models = {"std": net("standard"), "sto": net("vone")}
    calls = []
    real = module.robust_accuracy
    monkeypatch.setattr(module, "robust_accuracy", lambda *a, **k: calls.append(k["eps"]) or real(*a, **k))
    frame = accuracy_sweep(models, x, y, {"linf": [0.0, 0.3], "l2": [0.0]}, steps=2, eot=2, n_draws=2, progress=False)
    assert list(zip(frame.model, frame.norm, frame.eps, strict=True)) == [
        (m, n, e) for m in ("std", "sto") for n, e in (("linf", 0.0), ("linf", 0.3), ("l2", 0.0))
    ]
    with torch.no_grad():
        clean = float((models["std"](x).argmax(1) == y).double().mean())
    assert frame.accuracy.iloc[0] == pytest.approx(clean)
    # a strong L-inf attack on an untrained network lowers (never raises) its accuracy
    assert frame.accuracy.iloc[1] <= frame.accuracy.iloc[0]
    assert len(calls) == 6
    again = accuracy_sweep(models, x, y, {"linf": [0.0, 0.3], "l2": [0.0]}, steps=2, eot=2, n_draws=2, progress=False)
    assert len(calls) == 6 and again.equals(frame)  # every number read back from the cache, exactly
    with torch.no_grad():
        next(models["std"].parameters()).mul_(-1.0)  # other weights: the numbers of "std" are recomputed
    accuracy_sweep(models, x, y, {"linf": [0.0, 0.3], "l2": [0.0]}, steps=2, eot=2, n_draws=2, progress=False)
    assert len(calls) == 9


def test_unknown_norm_is_refused(data) -> None:
    x, y = data
    with pytest.raises(ValueError, match="norm='l3'"):
        accuracy_sweep({"std": net("standard")}, x, y, {"l3": [0.0]}, progress=False)


@pytest.mark.parametrize(
    "payload, reason",
    [(b"1.5", "a fraction in [0, 1], the entry holds 1.5"), (b"nan", "the entry holds nan"), (b"0.x", "ValueError")],
)
def test_a_damaged_accuracy_is_set_aside_and_recomputed(tmp_path, monkeypatch, payload, reason) -> None:
    from advgeom.cache import cache_path, write_entry

    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path))
    key = {"format": module.ACCURACY_FORMAT, "probe": 1}
    assert module.cached_number("accuracy", key, lambda: 0.75) == 0.75
    path = cache_path("accuracy", key, ".txt")
    write_entry(path, key, payload)  # a good entry holding no accuracy
    with pytest.warns(UserWarning, match=re.escape(reason)):
        assert module.cached_number("accuracy", key, lambda: 0.75) == 0.75
    path.write_text("0.5")  # a bare number, as the previous format wrote it
    with pytest.warns(UserWarning, match="no advgeom cache header"):
        assert module.cached_number("accuracy", key, lambda: 0.75) == 0.75
